"""``edgekit.cli.main``: whatever goes wrong, the user gets one line, never a Python traceback."""

from __future__ import annotations

import warnings

import pytest

import edgekit.targets
from edgekit.cli import main
from edgekit.errors import EdgekitWarning, TargetError


def test_an_unexpected_exception_is_one_line_with_exit_1(monkeypatch, capsys):
    def broken(name):
        raise AttributeError("'function' object has no attribute 'Report'")

    monkeypatch.setattr(edgekit.targets, "load_target", broken)
    assert main(["targets", "raspberry-pi-5"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "internal error" in err and "EDGEKIT_DEBUG=1" in err


def test_error_text_with_brackets_is_printed_verbatim(monkeypatch, capsys):
    def broken(name):
        raise TargetError("unknown backend(s) [int8] in targets/x.yaml; use [bold] names")

    monkeypatch.setattr(edgekit.targets, "load_target", broken)
    assert main(["targets", "x"]) == 2
    assert "[int8] in targets/x.yaml; use [bold] names" in capsys.readouterr().err


@pytest.mark.filterwarnings("default::edgekit.errors.EdgekitWarning")
def test_an_edgekit_warning_is_one_yellow_line_without_source_echo(monkeypatch, capsys):
    real = edgekit.targets.load_target

    def warns(name):
        warnings.warn("only 50 calibration samples; INT8 ranges may be off", EdgekitWarning, stacklevel=2)
        return real(name)

    monkeypatch.setattr(edgekit.targets, "load_target", warns)
    assert main(["targets", "raspberry-pi-5"]) == 0
    err = capsys.readouterr().err
    assert "warning: only 50 calibration samples" in err
    assert "EdgekitWarning" not in err and ".py:" not in err


@pytest.mark.parametrize("argv, option", [
    (["eval", "m.onnx", "--data", "demo-test", "--limit", "-3"], "--limit"),
    (["eval", "m.onnx", "--data", "demo-test", "--batch-size", "0"], "--batch-size"),
    (["compress", "m.onnx", "--method", "int8", "--out", "x.onnx", "--samples", "-5"], "--samples"),
    (["bench", "m.onnx", "--seconds", "-1"], "--seconds"),
])
def test_counts_and_durations_below_their_minimum_are_refused(argv, option, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err


def test_data_names_mean_the_same_in_eval_and_deploy():
    """``demo-test`` and ``demo:digits`` both name the held-out digits, whichever command is given them."""
    from edgekit.data import open_dataset
    from edgekit.deployment.source import open_data
    from edgekit.errors import EdgekitError

    try:
        reference = open_dataset("demo-test")
    except EdgekitError as exc:
        pytest.skip(f"demo digits not installed: {exc}")
    assert len(open_dataset("demo:digits")) == len(reference)
    model = type("M", (), {"name": "other"})()
    assert len(open_data("demo-test", model)) == len(reference)
    assert len(open_data("demo:digits", model)) == len(reference)


def test_ctrl_c_exits_130_and_says_cancelled(monkeypatch, capsys):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(edgekit.targets, "load_target", interrupted)
    assert main(["targets", "raspberry-pi-5"]) == 130
    err = capsys.readouterr().err
    assert "cancelled (Ctrl-C)" in err and "Traceback" not in err


@pytest.mark.parametrize("wrapper", [ImportError, edgekit.errors.ModelLoadError])
def test_ctrl_c_inside_a_runtime_import_is_a_cancel_not_a_bug(monkeypatch, capsys, wrapper):
    """Ctrl-C while a pybind11 runtime (OpenVINO, onnxruntime) initialises comes out of the import as
    ``ImportError: initialization failed`` with the KeyboardInterrupt as its cause (seen: Ctrl-C 2.5 s
    into ``edgekit demo yolov8n_int8.onnx`` printed "internal error ... this is a bug")."""
    def interrupted(name):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise wrapper("initialization failed") from exc

    monkeypatch.setattr(edgekit.targets, "load_target", interrupted)
    assert main(["targets", "raspberry-pi-5"]) == 130
    err = capsys.readouterr().err
    assert "cancelled (Ctrl-C)" in err and "internal error" not in err and "error:" not in err


def _run_with_ctrl_c(tmp_path, body: str):
    """Run ``body`` as a script in a child whose SIGINT is a terminal's (a background job ignores it)."""
    import subprocess
    import sys

    script = tmp_path / "child.py"
    script.write_text("import os, signal, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n" + body)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 130, done.stderr
    return done


def test_an_error_that_hides_the_ctrl_c_is_still_a_cancel(tmp_path):
    """numpy interrupted while it loads raises "ImportError: ... PyCapsule_Import could not import module"
    with no KeyboardInterrupt in the chain: the CLI knows Ctrl-C was pressed and says cancelled."""
    done = _run_with_ctrl_c(tmp_path, (
        "import edgekit.targets\n"
        "from edgekit.cli import main\n"
        "def interrupted(name):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, through the process's handler\n"
        "        import time; time.sleep(5)\n"
        "    except KeyboardInterrupt:\n"
        "        pass  # swallowed, as a C module's init does\n"
        "    raise ImportError('PyCapsule_Import could not import module \"datetime\"')\n"
        "edgekit.targets.load_target = interrupted\n"
        "sys.exit(main(['targets', 'raspberry-pi-5']))\n"))
    assert "cancelled (Ctrl-C)" in done.stderr and "internal error" not in done.stderr


def test_ctrl_c_while_the_cli_is_still_being_imported_is_a_cancel(tmp_path):
    """The console script's entry point imports the CLI inside a try: a Ctrl-C in the first
    ~0.1 s (the CLI's own imports) says cancelled and exits 130, no Python traceback."""
    done = _run_with_ctrl_c(tmp_path, (
        "class CtrlCOnTyper:  # the key pressed while the CLI imports typer\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, CtrlCOnTyper())\n"
        "from edgekit.__main__ import run\n"
        "run()\n"))
    assert done.stderr.strip() == "cancelled (Ctrl-C)", done.stderr


def _compress_signalled(tmp_path, name: str, disposition: str, after: str):
    """``edgekit compress demo:digits --method fp16 --format openvino --out out/m.xml`` in a child whose
    ``name`` signal starts at ``disposition`` (SIG_DFL: a terminal's; SIG_IGN: nohup's) and arrives while
    the IR is written; ``after``: what the patched ``save_model`` does next. Returns ``(done, out)``."""
    import subprocess
    import sys

    pytest.importorskip("openvino")
    out = tmp_path / "out" / "m.xml"
    script = tmp_path / "child.py"
    script.write_text(
        "import os, signal, sys, time\n"
        f"signal.signal(signal.{name}, signal.{disposition})\n"
        "import openvino as ov\n"
        "from edgekit.cli import main\n"
        "real = ov.save_model\n"
        "def save_model(*args, **kwargs):\n"
        f"    os.kill(os.getpid(), signal.{name})\n"
        f"    {after}\n"
        "ov.save_model = save_model\n"
        f"sys.exit(main(['compress', 'demo:digits', '--method', 'fp16', '--format', 'openvino', '--out', {str(out)!r}]))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    return done, out


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_sigterm_is_a_cancel_that_cleans_up(tmp_path, name):
    """SIGTERM (``kill``, ``timeout``, a service manager) or SIGHUP (the SSH session to the device dropped)
    ended the process on the spot: ``compress --format openvino --out out/m.xml`` left
    ``out/.m.xml.<random>.tmp/`` behind and said nothing. Now it is cancelled as Ctrl-C is: one line, the
    shell's status (143, 129), nothing half-written left."""
    import signal

    done, _ = _compress_signalled(tmp_path, name, "SIG_DFL", "time.sleep(30)")  # SIG_DFL: as in a terminal
    assert done.returncode == 128 + getattr(signal, name), done.stderr
    assert f"cancelled ({name})" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists(), list((tmp_path / "out").rglob("*"))


def test_under_nohup_a_hang_up_is_still_ignored(tmp_path):
    """``nohup edgekit plan ... &`` is meant to outlive the terminal: where SIGHUP is ignored, the CLI
    leaves it ignored (it takes over only signals left at their default) and the command finishes."""
    done, out = _compress_signalled(tmp_path, "SIGHUP", "SIG_IGN", "time.sleep(0.5); return real(*args, **kwargs)")
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "cancelled" not in done.stderr
