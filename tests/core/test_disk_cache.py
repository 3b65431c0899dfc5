"""Caches on disk stay within $EDGEKIT_CACHE_MAX_MB: least recently used entries go first.

Found as 1.3 GB of onnxruntime's optimized graphs and 186 MB of plans in one day: their keys hold
each file's modification time, so every plan added entries no later run reads, and nothing was
ever removed.
"""

from __future__ import annotations

import os
import time

from edgekit._disk_cache import max_bytes, trim

DAY = 86400.0


def _entry(path, size: int, age_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    when = time.time() - age_s
    os.utime(path, (when, when))


def test_the_least_recently_used_go_first_and_a_plans_report_goes_with_its_files(tmp_path):
    _entry(tmp_path / "old.json", 100, 3 * DAY)
    _entry(tmp_path / "old" / "model.onnx", 900, 3 * DAY)
    _entry(tmp_path / "used.json", 100, 2 * DAY)
    _entry(tmp_path / "used" / "model.onnx", 900, 2 * DAY)
    _entry(tmp_path / "new.json", 100, DAY)
    _entry(tmp_path / ".new.json.123.tmp", 5000, 3 * DAY)  # being written by another process
    for folder, age_s in (("old", 3 * DAY), ("used", 2 * DAY)):  # a plan's folder is as old as its files
        os.utime(tmp_path / folder, (time.time() - age_s,) * 2)
    os.utime(tmp_path / "used" / "model.onnx")  # read just now: in use
    removed = trim(tmp_path, 1500, keep=tmp_path / "new.json", entry=lambda n: n.removesuffix(".json"))
    assert removed == 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == [".new.json.123.tmp", "new.json", "used", "used.json"]


def test_entries_used_in_the_last_minutes_stay_even_over_the_limit(tmp_path):
    """Another process's plan may still be building in its folder."""
    _entry(tmp_path / "a.onnx", 1000, 60)
    _entry(tmp_path / "b.onnx", 1000, 2 * DAY)
    trim(tmp_path, 10)
    assert [p.name for p in tmp_path.iterdir()] == ["a.onnx"]


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE_MAX_MB", "5")
    assert max_bytes() == 5 * 2**20
    for unusable in ("lots", "-1", "0"):
        monkeypatch.setenv("EDGEKIT_CACHE_MAX_MB", unusable)
        assert max_bytes() == 1024 * 2**20


def test_onnxruntimes_graph_cache_lives_in_edgekit_cache_and_stays_within_the_limit(tmp_path, monkeypatch):
    from edgekit.backends import compile_session
    from edgekit.models import load_model

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EDGEKIT_CACHE_MAX_MB", "1")  # room for demo:digits (0.3 MB), not beside digits-mnv2 (2.8 MB)
    with compile_session(load_model("demo:digits-mnv2"), "onnxruntime") as session:
        assert "saved to the cache" in " ".join(session.info.notes)
    graphs = tmp_path / "cache" / "ort"
    (first,) = graphs.iterdir()
    os.utime(first, (time.time() - DAY, time.time() - DAY))  # last used yesterday
    with compile_session(load_model("demo:digits"), "onnxruntime"):
        pass
    assert not first.exists() and len(list(graphs.iterdir())) == 1  # the newest stays
    with compile_session(load_model("demo:digits"), "onnxruntime") as again:  # the entry kept is the one read
        assert "loaded from the cache" in " ".join(again.info.notes)


def test_the_plan_cache_drops_its_least_recently_used_plan_with_its_files(tmp_path, monkeypatch):
    from edgekit.planner import cache
    from edgekit.planner.report import Report

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))
    monkeypatch.setenv("EDGEKIT_CACHE_MAX_MB", "0.001")  # about 1 kB: one report, no built models

    def report(name: str) -> Report:
        return Report(model=name, model_sha256="0" * 64, target="local", estimated=False, candidates=(),
                      best_key="", log=())

    cache.store("oldplan", report("old"))
    _entry(cache.work_dir("oldplan") / "int8.onnx", 4000, 2 * DAY)  # the models it built
    for path in (cache.cache_root() / "oldplan.json", cache.cache_root() / "oldplan"):
        os.utime(path, (time.time() - 2 * DAY,) * 2)
    cache.store("newplan", report("new"))
    assert sorted(p.name for p in cache.cache_root().iterdir()) == ["newplan.json"]
    assert cache.load("newplan").model == "new"
