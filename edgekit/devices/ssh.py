"""One SSH connection to a device (asyncssh), driven synchronously from edgekit's own threads.

Why a private event loop in a thread: the planner, the CLI and the GUI worker
are plain synchronous code; asyncssh is asyncio. Every call here is bounded:
the TCP connect and the login by the device's ``connect_timeout_s``, every
command by its own ``timeout``, every file copy by a size-based limit. A
command that overruns (or is cancelled) is stopped on the device: each remote
command first prints its PID, and a second channel sends it TERM, then KILL.

Host keys are checked as OpenSSH does, against ``~/.ssh/known_hosts`` and
edgekit's own ``known_hosts`` in the config folder; an unknown or changed key
is refused, with its fingerprint and the command that accepts it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import os
import shlex
import socket
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit._io import expand_user
from edgekit.devices.store import Device, config_dir
from edgekit.errors import Cancelled, DeviceError

_PID_MARK = "__EDGEKIT_PID__"
Cancel = Callable[[], bool] | None


def _asyncssh() -> Any:
    """The asyncssh module, imported without the warnings its import prints under recent
    cryptography releases (51 here).

    Why: importing asyncssh touches cryptography's DSA classes, and each access prints a
    ``CryptographyDeprecationWarning: DSA is deprecated`` with a line of asyncssh's source: ten lines
    of a library's internals above every ``edgekit device`` command and ``bench --device``, about a
    key type edgekit never offers (keys and the agent are used as OpenSSH would, and OpenSSH has
    dropped DSA). Only that message is silenced, and only while the module is first imported."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        import asyncssh
    return asyncssh


@dataclass(frozen=True)
class RunResult:
    """What a remote command gave: exit code, stdout, stderr, wall seconds (client side)."""

    rc: int
    stdout: str
    stderr: str
    seconds: float


def known_hosts_files() -> list[Path]:
    """The known_hosts files read, as OpenSSH would plus edgekit's own (only existing ones)."""
    files = [Path.home() / ".ssh" / "known_hosts", config_dir() / "known_hosts"]
    return [f for f in files if f.is_file()]


def host_pattern(device: Device) -> str:
    """The known_hosts host field: ``host`` on port 22, else ``[host]:port``."""
    return device.host if device.port == 22 else f"[{device.host}]:{device.port}"


def _known_hosts():
    asyncssh = _asyncssh()

    text = "\n".join(f.read_text(encoding="utf-8", errors="replace") for f in known_hosts_files())
    return asyncssh.import_known_hosts(text)


def trusted_keys(device: Device) -> list[Any]:
    """Host keys known_hosts holds for the device's host and port."""
    addr = device.host
    with contextlib.suppress(OSError):
        addr = socket.gethostbyname(device.host)
    return list(_known_hosts().match(device.host, addr, device.port)[0])


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class _Loop:
    """A private asyncio loop in a daemon thread; ``call`` runs a coroutine there and waits, bounded."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="edgekit-ssh", daemon=True)
        self.thread.start()

    def call(self, coro: Any, timeout: float, cancel: Cancel = None) -> Any:
        if not asyncio.iscoroutine(coro):  # asyncssh returns some awaitables that are not coroutines
            coro = _awaited(coro)
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return future.result(timeout=0.1)
            except concurrent.futures.TimeoutError:  # the poll expired (or the coroutine's own timeout)
                if future.done():
                    raise
                if cancel is not None and cancel():
                    future.cancel()
                    raise Cancelled("cancelled by the user") from None
                if time.monotonic() > deadline:
                    future.cancel()
                    raise TimeoutError(f"no answer within {timeout:g} s") from None

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


def fetch_host_key(device: Device) -> Any:
    """The host key the device presents (no login). Used by ``edgekit device trust``.

    Raises:
        DeviceError: the device cannot be reached (refused, timed out, unknown host).
    """
    asyncssh = _asyncssh()

    runner = _Loop()
    try:
        coro = asyncio.wait_for(asyncssh.get_server_host_key(device.host, device.port, config=None),
                                device.connect_timeout_s)
        return runner.call(coro, device.connect_timeout_s + 5)
    except Exception as exc:
        raise _explain(exc, device, "connecting") from exc
    finally:
        runner.close()


def fingerprint(key: Any) -> str:
    """OpenSSH-style ``SHA256:...`` fingerprint of a public key."""
    return key.get_fingerprint("sha256")


class Connection:
    """An open SSH connection to ``device`` (use as a context manager).

    Example:
        >>> with Connection.open(get_device("pi5")) as conn:   # doctest: +SKIP
        ...     conn.run("uname -m", timeout=10).stdout
        'aarch64\\n'
    """

    def __init__(self, device: Device, runner: _Loop, conn: Any) -> None:
        self.device, self._runner, self._conn = device, runner, conn
        self._sftp: Any = None

    # ---- open / close ----------------------------------------------------------------
    @classmethod
    def open(cls, device: Device) -> Connection:
        """Connect and log in, bounded by ``device.connect_timeout_s``.

        Raises:
            DeviceError: refused, timed out, unknown/changed host key, key refused.
        """
        runner = _Loop()
        try:
            conn = runner.call(_connect(device), device.connect_timeout_s + 5)
        except Exception as exc:
            runner.close()
            raise _explain(exc, device, "connecting") from exc
        return cls(device, runner, conn)

    def close(self) -> None:
        """Close the connection and its loop (idempotent)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                self._runner.call(_close(conn, self._sftp), 5)
        self._runner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- commands ----------------------------------------------------------------------
    def run(self, command: str, timeout: float, cancel: Cancel = None) -> RunResult:
        """Run ``command`` in the device's shell; stop it there when it overruns ``timeout`` or is cancelled.

        Raises:
            DeviceError: it did not finish within ``timeout`` (it was stopped), or the connection dropped.
            Cancelled: ``cancel`` fired (the remote process was stopped).
        """
        state: dict = {}
        start = time.monotonic()
        try:
            rc, out, err = self._runner.call(_run(self._conn, command, state), timeout, cancel)
        except (TimeoutError, Cancelled) as exc:
            self._stop(state.get("pid"))
            if isinstance(exc, Cancelled):
                raise
            raise DeviceError(f"on {self.device.name}: `{_short(command)}` did not finish within {timeout:g} s; "
                              "it was stopped there. The device may be overloaded or the command stuck; "
                              "check with `edgekit device check`") from exc
        except Exception as exc:
            raise _explain(exc, self.device, f"running `{_short(command)}`") from exc
        return RunResult(rc, out, err, time.monotonic() - start)

    def _stop(self, pid: int | None) -> None:
        """TERM, then KILL, the remote process (best effort; the connection may be gone)."""
        if pid is None or self._conn is None:
            return
        kill = f"kill -TERM {pid} 2>/dev/null; sleep 1; kill -KILL {pid} 2>/dev/null; true"
        with contextlib.suppress(Exception):
            self._runner.call(self._conn.run(kill, check=False), 10)

    # ---- files -------------------------------------------------------------------------
    def _sftp_client(self) -> Any:
        if self._sftp is None:
            try:
                self._sftp = self._runner.call(self._conn.start_sftp_client(), 30)
            except Exception as exc:
                if not self._runs_commands_without_sftp(exc):
                    raise
                self._sftp = _NO_SFTP
        return self._sftp

    def _runs_commands_without_sftp(self, exc: BaseException) -> bool:
        """The server refused the SFTP subsystem yet runs commands: Dropbear without its sftp-server,
        an OpenSSH whose sshd_config has no ``Subsystem sftp`` line.

        Why: such a device answered ``device check`` (a command) and then every ``bench --device``,
        ``plan`` and ``deploy --to`` failed with "connection lost while reading .../manifest.json"
        (the refusal is a ChannelOpenError, as a dropped link is). Files then go through ``sh``:
        ``mkdir -p``, ``cat``, ``find``/``wc -c``, ``rm -f``, ``mv -f`` (BusyBox has them all)."""
        if not isinstance(exc, _asyncssh().ChannelOpenError):
            return False
        try:
            return self.run("true", 15).rc == 0
        except Exception:  # noqa: BLE001 - the link itself is gone: the caller explains the first error
            return False

    def _shell_files(self, doing: str) -> bool:
        """True where files go through ``sh`` (no SFTP there); errors opening SFTP explained."""
        try:
            return self._sftp_client() is _NO_SFTP
        except Cancelled:
            raise
        except Exception as exc:
            raise _explain(exc, self.device, doing) from exc

    def _sh(self, script: str, timeout: float, doing: str, ok: tuple[int, ...] = (0,)) -> RunResult:
        """``script`` run by ``sh`` on the device; an exit code outside ``ok`` is a :class:`DeviceError`."""
        done = self.run(f"sh -c {shlex.quote(script)}", timeout)
        if done.rc not in ok:
            said = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit code {done.rc}"]
            raise DeviceError(f"on {self.device.name}: {doing} failed: {said[0]}")
        return done

    def _file_op(self, coro_fn: Callable[[Any], Any], timeout: float, doing: str, cancel: Cancel = None) -> Any:
        try:
            return self._runner.call(coro_fn(self._sftp_client()), timeout, cancel)
        except Cancelled:
            raise
        except Exception as exc:
            raise _explain(exc, self.device, doing) from exc

    def makedirs(self, path: str) -> None:
        """Create ``path`` (and parents) on the device."""
        if self._shell_files(f"creating {path}"):
            self._sh(f"mkdir -p -- {shlex.quote(path)}", 30, f"creating {path}")
            return
        self._file_op(lambda s: s.makedirs(path, exist_ok=True), 30, f"creating {path}")

    def read_text(self, path: str) -> str | None:
        """A small remote text file's content, or ``None`` when it does not exist."""
        if self._shell_files(f"reading {path}"):
            q = shlex.quote(path)
            done = self._sh(f"if [ -f {q} ]; then cat -- {q}; else exit 3; fi", 30, f"reading {path}", ok=(0, 3))
            return None if done.rc == 3 else done.stdout

        async def read(sftp: Any) -> str | None:
            asyncssh = _asyncssh()

            try:
                async with sftp.open(path, "rb") as f:
                    return (await f.read()).decode("utf-8", errors="replace")
            except asyncssh.SFTPNoSuchFile:
                return None
        return self._file_op(read, 30, f"reading {path}")

    def sizes(self, folder: str) -> dict[str, int]:
        """``relative path -> size`` of every file under ``folder`` on the device (empty when absent)."""
        if self._shell_files(f"listing {folder}"):
            script = f"cd -- {shlex.quote(folder)} 2>/dev/null || exit 0; find . -type f -exec wc -c {{}} +"
            found = {}
            for line in self._sh(script, 60, f"listing {folder}").stdout.splitlines():
                size, _, name = line.strip().partition(" ")
                if name.startswith("./") and size.isdigit():  # not wc's "total" line
                    found[name[2:]] = int(size)
            return found

        async def walk(sftp: Any) -> dict[str, int]:
            asyncssh = _asyncssh()

            found: dict[str, int] = {}
            stack = [""]
            while stack:
                rel = stack.pop()
                try:
                    entries = await sftp.readdir(f"{folder}/{rel}" if rel else folder)
                except asyncssh.SFTPNoSuchFile:
                    return found
                for e in entries:
                    name = e.filename if isinstance(e.filename, str) else e.filename.decode()
                    if name in (".", ".."):
                        continue
                    sub = f"{rel}/{name}" if rel else name
                    if e.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
                        stack.append(sub)
                    else:
                        found[sub] = e.attrs.size or 0
            return found
        return self._file_op(walk, 60, f"listing {folder}")

    def remove(self, path: str) -> None:
        """Delete a remote file if it exists."""
        if self._shell_files(f"removing {path}"):
            self._sh(f"rm -f -- {shlex.quote(path)}", 30, f"removing {path}")
            return

        async def rm(sftp: Any) -> None:
            asyncssh = _asyncssh()

            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await sftp.remove(path)
        self._file_op(rm, 30, f"removing {path}")

    def put(self, local: Path, remote: str, cancel: Cancel = None) -> int:
        """Copy ``local`` to ``remote`` via ``remote.part`` and a rename; return the bytes sent.

        A copy cut short leaves only the ``.part`` file, never a file under the final name.

        Raises:
            DeviceError: the connection dropped, the device's disk is full, or the copy overran its limit.
        """
        size = Path(local).stat().st_size
        timeout = 30 + size / 1e6  # >= 1 MB/s or something is wrong
        part = f"{remote}.part"
        doing = f"copying {Path(local).name} to {remote}"
        if self._shell_files(doing):
            self._put_through_sh(Path(local), remote, part, timeout, doing, cancel)
            return size

        async def copy(sftp: Any) -> None:
            parent = remote.rsplit("/", 1)[0] if "/" in remote else "."
            await sftp.makedirs(parent, exist_ok=True)
            await sftp.put(str(local), part)
            try:
                await sftp.posix_rename(part, remote)
            except Exception:  # noqa: BLE001 - a server without the OpenSSH rename extension
                with contextlib.suppress(Exception):
                    await sftp.remove(remote)
                await sftp.rename(part, remote)
        self._file_op(copy, timeout, doing, cancel)
        return size

    def _put_through_sh(self, local: Path, remote: str, part: str, timeout: float, doing: str,
                        cancel: Cancel) -> None:
        """:meth:`put` where there is no SFTP: the file is the standard input of ``cat > part``."""
        parent = remote.rsplit("/", 1)[0] if "/" in remote else "."
        script = (f"mkdir -p -- {shlex.quote(parent)} && cat > {shlex.quote(part)} && "
                  f"mv -f -- {shlex.quote(part)} {shlex.quote(remote)}")

        async def copy() -> Any:
            return await self._conn.run(f"sh -c {shlex.quote(script)}", stdin=str(local), encoding=None, check=False)
        try:
            done = self._runner.call(copy(), timeout, cancel)
        except Cancelled:
            raise
        except Exception as exc:
            raise _explain(exc, self.device, doing) from exc
        if done.exit_status != 0:
            said = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:]
            if said and ("space" in said[0].lower() or "quota" in said[0].lower()):
                raise _disk_full(self.device, doing, said[0])
            raise DeviceError(f"on {self.device.name}: {doing} failed: {said[0] if said else done.exit_status}")


async def _connect(device: Device) -> Any:
    asyncssh = _asyncssh()

    keys = [str(expand_user(device.key))] if device.key else ()
    options = {"known_hosts": _known_hosts(), "client_keys": keys, "password_auth": False, "kbdint_auth": False,
               "connect_timeout": device.connect_timeout_s, "login_timeout": device.connect_timeout_s,
               "keepalive_interval": 5, "keepalive_count_max": 3}
    try:
        return await asyncssh.connect(device.host, device.port, username=device.user, **options)
    except asyncssh.HostKeyNotVerifiable as exc:
        raise _HostKeyRefused(await _presented_key(device)) from exc


class _HostKeyRefused(Exception):
    def __init__(self, key: Any) -> None:
        super().__init__("host key not verifiable")
        self.key = key


async def _presented_key(device: Device) -> Any:
    asyncssh = _asyncssh()

    with contextlib.suppress(Exception):
        return await asyncio.wait_for(asyncssh.get_server_host_key(device.host, device.port, config=None),
                                      device.connect_timeout_s)
    return None


_NO_SFTP = object()  # Connection._sftp where the server has no SFTP subsystem (files go through sh)


async def _close(conn: Any, sftp: Any) -> None:
    if sftp is not None and sftp is not _NO_SFTP:
        sftp.exit()
    conn.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.wait_closed(), 3)


async def _run(conn: Any, command: str, state: dict) -> tuple[int, str, str]:
    """Run ``command`` after ``echo PID``; record the PID in ``state`` as soon as it arrives."""
    wrapped = f"echo {_PID_MARK} $$; exec {command}"
    async with conn.create_process(wrapped, encoding="utf-8", errors="replace") as proc:
        proc.stdin.write_eof()
        first = await proc.stdout.readline()
        if first.startswith(_PID_MARK):
            with contextlib.suppress(ValueError):
                state["pid"] = int(first.split()[1])
            first = ""
        out, err = await asyncio.gather(proc.stdout.read(), proc.stderr.read())
        result = await proc.wait(check=False)
    rc = result.exit_status if result.exit_status is not None else 255
    return rc, first + out, err


def _short(command: str, n: int = 60) -> str:
    return command if len(command) <= n else command[: n - 3] + "..."


def _explain(exc: BaseException, device: Device, doing: str) -> DeviceError:
    """One sentence naming the device, what failed, and the fix."""
    asyncssh = _asyncssh()

    where = f"{device.name} ({device.url})"
    if isinstance(exc, DeviceError):
        return exc
    if isinstance(exc, _HostKeyRefused):
        return _host_key_error(device, exc.key)
    if isinstance(exc, ConnectionRefusedError):
        return DeviceError(f"{where} refused the connection: nothing listens on port {device.port}; check the "
                           "address and port, and that the SSH server runs there")
    if isinstance(exc, socket.gaierror):
        return DeviceError(f"{where}: cannot resolve host {device.host!r}; check the name or use its IP address")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) and doing == "connecting":
        return DeviceError(f"{where} did not answer within {device.connect_timeout_s:g} s; check that it is on and "
                           f"reachable (ssh -p {device.port} {device.user}@{device.host})")
    if isinstance(exc, asyncssh.PermissionDenied):
        key = device.key or "the SSH agent's and ~/.ssh/id_* keys"
        return DeviceError(f"{where} refused to log in user {device.user!r} with {key}; check the user and the key "
                           f"(ssh -p {device.port} {device.user}@{device.host} must work without a password; "
                           "the public key belongs in ~/.ssh/authorized_keys there)")
    if isinstance(exc, asyncssh.KeyImportError):
        return DeviceError(f"key file {device.key} cannot be used ({exc}); if it has a passphrase, add it to the "
                           "SSH agent (ssh-add) and leave --key out", path=device.key)
    if isinstance(exc, asyncssh.SFTPError) and ("space" in str(exc).lower() or "quota" in str(exc).lower()):
        return _disk_full(device, doing, exc)
    if isinstance(exc, asyncssh.SFTPFailure):
        return _disk_full(device, doing, exc, maybe=True)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return _disk_full(device, doing, exc)
    if isinstance(exc, (asyncssh.DisconnectError, asyncssh.ConnectionLost, asyncssh.ChannelOpenError,
                        BrokenPipeError, ConnectionResetError, EOFError, asyncssh.SFTPConnectionLost)):
        return DeviceError(f"connection to {where} lost while {doing}; nothing half-copied is ever run "
                           "(bundles are verified on the device first); re-run the same command to resume")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return DeviceError(f"{where}: {doing} did not finish in time; the link may be slow or the device stuck; "
                           "re-run to resume")
    if isinstance(exc, OSError):
        return DeviceError(f"cannot reach {where} while {doing}: {exc.strerror or exc}; check the network")
    return DeviceError(f"{where}: {doing} failed: {type(exc).__name__}: {exc}")


def _disk_full(device: Device, doing: str, exc: BaseException, maybe: bool = False) -> DeviceError:
    guess = "the device's disk may be full" if maybe else "the device's disk is full"
    return DeviceError(f"on {device.name}: {doing} failed ({exc}); {guess}: free space there "
                       f"(df -h {shlex.quote(device.workdir)}) or register the device with another --workdir")


def _host_key_error(device: Device, key: Any) -> DeviceError:
    known = trusted_keys(device)
    files = " or ".join(str(f) for f in known_hosts_files()) or "known_hosts"
    shown = f" {key.get_algorithm()} {fingerprint(key)}" if key is not None else ""
    if known:
        return DeviceError(
            f"{device.name}: HOST KEY CHANGED for {host_pattern(device)}: it now presents{shown}, not the key in "
            f"{files}. Someone may be intercepting the connection, or the device was reinstalled; if you are sure, "
            f"remove the old key (ssh-keygen -R '{host_pattern(device)}' -f FILE) and run "
            f"`edgekit device trust {device.name}`")
    return DeviceError(
        f"{device.name}: unknown host key for {host_pattern(device)}{shown}; compare it with the device's own "
        f"(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), then accept it with "
        f"`edgekit device trust {device.name}` (or ssh -p {device.port} {device.user}@{device.host} once)")


def trust(device: Device, key: Any) -> Path:
    """Append ``key`` for the device's host to edgekit's own known_hosts; return that file.

    Raises:
        DeviceError: known_hosts already holds a different key for this host (a changed key is
            never silently replaced).
    """
    line = " ".join(key.export_public_key("openssh").decode().split()[:2])
    known = trusted_keys(device)
    if any(" ".join(k.export_public_key("openssh").decode().split()[:2]) == line for k in known):
        return config_dir() / "known_hosts"
    if known:
        raise _host_key_error(device, key)
    path = config_dir() / "known_hosts"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{host_pattern(device)} {line}\n")
    os.chmod(path, 0o600)
    return path
