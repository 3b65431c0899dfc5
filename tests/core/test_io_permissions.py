"""Files and folders written atomically get the user's usual permissions, not mkstemp's private 0600."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from edgekit._io import atomic_dir, atomic_path, write_text_atomic

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def _expected(full: int) -> int:
    old = os.umask(0o022)  # os.umask only reads by setting: put the old one straight back
    os.umask(old)
    return full & ~old


def test_atomic_file_is_readable_like_any_file_the_user_writes(tmp_path):
    report = write_text_atomic(tmp_path / "report.json", "{}")
    assert stat.S_IMODE(report.stat().st_mode) == _expected(0o666)
    with atomic_path(tmp_path / "bundle.zip") as tmp:
        tmp.write_bytes(b"PK")
    assert stat.S_IMODE((tmp_path / "bundle.zip").stat().st_mode) == _expected(0o666)


def test_atomic_folder_is_listable_like_any_folder_the_user_makes(tmp_path):
    with atomic_dir(tmp_path / "bundle") as tmp:
        (tmp / "a.txt").write_text("x")
    assert stat.S_IMODE((tmp_path / "bundle").stat().st_mode) == _expected(0o777)
