"""The device as the planner's, ``bench``'s and ``deploy``'s measuring instrument.

:class:`DeviceMeasurer` is the hook the planner calls when ``--target`` names a
registered device: it measures each candidate there (see :mod:`edgekit.devices.runner`)
and labels every figure "measured on device NAME". When the device drops
mid-plan the figures already brought back are kept, and :class:`PlanIncomplete`
names the candidates still missing; the same command resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.devices.remote import CommandFailed
from edgekit.devices.runner import DeviceRunner, Measured
from edgekit.devices.store import Device, find_device, get_device
from edgekit.errors import BackendUnavailable, BundleError, DeviceError
from edgekit.progress import Cancel, Progress, check_cancel, emit


class PlanIncomplete(DeviceError):
    """The device dropped mid-plan; ``missing`` lists the candidates not measured yet."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


def _close(runner: DeviceRunner | None) -> None:
    if runner is not None:
        runner.close()


def _fired(cancel: Any) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if hasattr(cancel, "is_set") else bool(cancel())


class DeviceMeasurer:
    """Measures planner candidates on one device.

    Attributes:
        target: the device as a ``Target`` (its own profile; budgets from its declared target).
        profile: the device's ``HardwareProfile`` (for the plan cache key and the report).
        where: "measured on device NAME (ssh://...)".
        measured: key -> :class:`Measured`, filled as candidates are measured.
    """

    def __init__(self, device: Device, data: Any = None, resume: bool = True) -> None:
        self.device, self.data, self.resume = device, data, resume
        runner = DeviceRunner.open(device, data)  # checks edgekit there; the connection is reopened to measure
        try:
            self.target, self.profile = runner.target, runner.profile
        finally:
            runner.close()
        self.where = f"measured on device {device.name} ({device.url})"
        self.measured: dict[str, Measured] = {}

    @classmethod
    def for_target(cls, name: str, data: Any = None, resume: bool = True) -> DeviceMeasurer | None:
        """A measurer when ``name`` is a registered device, else ``None`` (a plain target).

        Raises:
            DeviceError: the device is unreachable, refuses us, or lacks edgekit (with the fix).
        """
        device = find_device(name)
        return None if device is None else cls(device, data, resume)

    def measure(self, items: list[tuple[str, Any, str, str, str]], seconds: float, cancel: Any = None,
                progress: Progress | None = None) -> dict[str, Any]:
        """Measure ``(key, model, backend, device, precision)`` items there: each shipped, then all timed
        together, interleaved (:meth:`DeviceRunner.measure_together`).

        ``progress`` gets a "benchmarking" :class:`~edgekit.progress.ProgressEvent` before each is shipped
        (k/N) and before they are timed.

        Returns:
            key -> ``BenchResult`` (status "unavailable" for a candidate that cannot be bundled).

        Raises:
            PlanIncomplete: the device dropped; the figures brought back so far are kept for a re-run.
            Cancelled: ``cancel`` fired (the remote process is stopped).
        """
        from edgekit.evaluation.benchmark import BenchResult

        results: dict[str, Any] = {}
        name = self.device.name
        runner = None
        n = len(items)

        def told(i: int | None, what: str) -> None:
            emit(progress, "benchmarking", f"on {name}: {what}", done=n if i is None else i, total=n,
                 fraction=0.5 if i is None else 0.5 * i / max(1, n))

        try:  # closed however it ends: a leaked connection keeps its loop thread alive
            try:
                runner = DeviceRunner.open(self.device, self.data, self.profile)
                measured = runner.measure_together(
                    [(model, backend, device, precision) for _, model, backend, device, precision in items],
                    seconds, cancel=lambda: _fired(cancel), resume=self.resume, progress=told)
            except DeviceError as exc:  # Cancelled passes through; the connection is closed below
                kept = self._kept(runner, items, seconds)
                missing = tuple(k for k, *_ in items if k not in kept)
                raise PlanIncomplete(
                    f"{exc} -- measured {n - len(missing)} of {n} candidates on {name}; missing: "
                    f"{', '.join(missing)}. Re-run the same command to measure only those (the others are kept)",
                    missing) from exc
            if self.resume:  # every figure came back: nothing is left to resume
                runner.forget([(model, backend, device, precision) for _, model, backend, device, precision in items],
                              seconds)
            for (key, model, backend, device, precision), m in zip(items, measured):
                if isinstance(m, (BackendUnavailable, BundleError)):
                    results[key] = BenchResult(model.name, backend, device, precision, status="unavailable",
                                               reason=f"cannot be bundled for {name}: {m}")
                elif isinstance(m, CommandFailed):  # edgekit there reported an error for this candidate only
                    results[key] = BenchResult(model.name, backend, device, precision, status="failed", reason=str(m))
                else:
                    self.measured[key] = m
                    results[key] = BenchResult.from_dict(m.bench)
            return results
        finally:
            _close(runner)

    def _kept(self, runner: DeviceRunner | None, items: list, seconds: float) -> set[str]:
        """Keys of ``items`` an earlier run stored results for (a dropped plan resumes with them)."""
        if runner is None or not self.resume:
            return set()
        return {k for k, model, backend, device, precision in items
                if runner.stored(model, backend, device, precision, seconds) is not None}

    def label(self, report: Any) -> Any:
        """The report with its figures labelled measured on the device, and the device's profile."""
        from dataclasses import replace

        cands = tuple(replace(c, notes=(*c.notes, *self.notes(c.key))) for c in report.candidates)
        log = tuple(line.replace("ESTIMATED from the target's published figures", self.where)
                    for line in report.log) + self._summary()
        hardware = {"fingerprint": self.profile.fingerprint, "summary": self.profile.summary(),
                    "measured_on": self.where, "device": self.device.name,
                    "profile": self.profile.to_dict(), "overhead": self.overhead()}
        return replace(report, estimated=False, candidates=cands, log=log, hardware=hardware)

    def _summary(self) -> tuple[str, ...]:
        """One decision-log line: what the device said about the bundles and what the remote loop cost."""
        if not self.measured:
            return ()
        agree = [m.verify.get("sample", {}).get("agreement") for m in self.measured.values()]
        agree = [a for a in agree if a is not None]
        rows = self.overhead()
        mid = lambda k: sorted(r[k] for r in rows)[len(rows) // 2]
        line = (f"On {self.device.name}: {len(rows)} bundle(s) verified there before running; top-1 agreement of "
                f"their samples with this machine {100 * min(agree or [0]):.1f}% at worst; remote loop per candidate "
                f"(median): build {mid('build_s'):.1f} s here, transfer {mid('transfer_s'):.2f} s, "
                f"start-up there {mid('startup_s'):.1f} s.")
        return (line,)

    def notes(self, key: str) -> tuple[str, ...]:
        """What to say about candidate ``key``'s figures in the report."""
        m = self.measured.get(key)
        if m is None:
            return ()
        sample = m.verify.get("sample", {})
        acc = sample.get("accuracy")
        bits = [self.where + (" (resumed from an interrupted run)" if m.resumed else "")]
        if acc is not None:
            bits.append(f"sample accuracy on the device {100 * acc:.2f}% ({sample.get('samples')} images), "
                        f"agreement with here {100 * (sample.get('agreement') or 0):.1f}%")
        return tuple(bits)

    def overhead(self) -> list[dict]:
        """Per candidate: build, transfer and remote start-up seconds, bytes sent."""
        rows = []
        for key, m in self.measured.items():
            ship = m.shipment or {}
            rows.append({"candidate": key, "build_s": m.build_s, "transfer_s": ship.get("seconds", 0.0),
                         "bytes_sent": ship.get("bytes_sent", 0), "files_sent": len(ship.get("sent", ())),
                         "files_kept": len(ship.get("kept", ())), "startup_s": m.startup_s,
                         "remote_s": m.remote_s, "resumed": m.resumed})
        return rows


@dataclass(frozen=True)
class DeviceBench:
    """``edgekit bench MODEL --device NAME``: results measured there plus where and at what cost."""

    device: str
    url: str
    profile: dict
    results: tuple[Any, ...]
    overhead: tuple[dict, ...]

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"device": self.device, "url": self.url, "measured_on_device": True, "profile": self.profile,
                "results": [r.to_dict() for r in self.results], "overhead": list(self.overhead)}


def bench_on_device(model: Any, name: str, backends: list[str] | None = None, precisions: list[str] | None = None,
                    seconds: float = 5.0, data: Any = None, progress: Any = None) -> DeviceBench:
    """Benchmark ``model`` on device ``name``: one bundle per backend x precision, measured there.

    Raises:
        DeviceError: unreachable, refused, or edgekit missing there (with the install command).
    """
    from edgekit.evaluation.benchmark import BenchResult

    runner = DeviceRunner.open(get_device(name), data)
    try:
        backends = backends or list(runner.target.backends)
        combos = [(b, p) for b in backends for p in (precisions or [str(model.precision)])]
        results: list[Any] = [None] * len(combos)
        runnable = []
        for i, (backend, precision) in enumerate(combos):
            if not runner.target.supports(backend, "cpu", precision):
                results[i] = BenchResult(model.name, backend, "cpu", precision, status="unavailable",
                                         reason=f"{backend} ({precision}) is not installed on {name}; "
                                                f"python3 -m pip install {backend} there")
            else:
                runnable.append(i)

        def told(i: int | None, what: str) -> None:
            if progress is not None:
                progress(0.5 if i is None else 0.5 * i / max(1, len(runnable)), f"on {name}: {what}")

        measured = runner.measure_together([(model, combos[i][0], "cpu", combos[i][1]) for i in runnable], seconds,
                                           resume=False, progress=told)
        rows = []
        for i, m in zip(runnable, measured):
            if isinstance(m, Exception):  # one combination edgekit there could not run: the others stand
                from edgekit.errors import EdgekitError

                if not isinstance(m, EdgekitError):
                    raise m
                results[i] = BenchResult(model.name, combos[i][0], "cpu", combos[i][1], status="failed",
                                         reason=str(m))
                continue
            results[i] = BenchResult.from_dict(m.bench)
            rows.append({"backend": combos[i][0], "precision": combos[i][1], "transfer_s": m.shipment.get("seconds"),
                         "bytes_sent": m.shipment.get("bytes_sent"), "startup_s": m.startup_s})
        return DeviceBench(name, runner.device.url, runner.profile.to_dict(), tuple(results), tuple(rows))
    finally:
        runner.close()


def deploy_to_device(bundle: str | Path, name: str, progress: Progress | None = None, cancel: Cancel = None) -> dict:
    """Copy a written bundle to device ``name`` and run ``edgekit verify`` there; return its report.

    Args:
        progress: told "connecting", "copying" and "verifying" (the app's Deploy page shows them).
        cancel: stops the copy or the remote verify (the remote command is stopped there too).

    Returns:
        ``{"device", "path", "passed", "report", "shipment"}``.

    Raises:
        DeviceError: unreachable, refused, edgekit missing there, or the copy was refused there.
        Cancelled: ``cancel`` fired.
    """
    from edgekit.devices.remote import BundleRefused, Remote

    device = get_device(name)
    bundle = Path(bundle)
    folder = bundle.stem if bundle.is_file() else bundle.name
    cancel = None if cancel is None else (lambda token=cancel: _fired(token))  # the SSH layer calls it
    emit(progress, "connecting", f"{device.name} ({device.url})", fraction=0.0)
    with Remote.open(device) as remote:
        remote.require()
        emit(progress, "copying", f"{bundle.name} to {device.name}", fraction=0.2)
        check_cancel(cancel)
        ship = remote.ship(bundle, folder, cancel)  # a copy cut short leaves only a .part file there
        emit(progress, "verifying", f"{bundle.name} on {device.name}", fraction=0.6)
        check_cancel(cancel)
        try:
            rc, report = remote.verify(ship.path, cancel=cancel)
        except BundleRefused:
            ship = remote.ship(bundle, folder, cancel, full=True)
            rc, report = remote.verify(ship.path, cancel=cancel)
    emit(progress, "done", f"verified on {device.name}", fraction=1.0)
    return {"device": name, "path": ship.path, "passed": rc == 0 and report.get("passed", False),
            "report": report, "shipment": ship.to_dict()}


def deploy_target(name: Any) -> Any:
    """``name`` as :func:`edgekit.deploy` takes a target: a device added with ``edgekit device add``
    becomes a ``Target`` under its own name (its declared target's figures, or, added without
    ``--target``, none: what it runs is known only over SSH, so nothing is refused and no fallback is
    promised); anything else is returned as it is. Why: ``plan --target`` took a device's name and
    ``deploy`` refused it as an unknown target, and so did the app's Deploy page after a plan on a
    device card."""
    from edgekit.devices.runner import offline_target

    device = find_device(name) if isinstance(name, str) and name else None
    return offline_target(device) if device is not None else name


def is_device(name: str | None) -> bool:
    """True when ``name`` is a registered device (not a backend device like ``cpu``)."""
    return bool(name) and find_device(str(name)) is not None

