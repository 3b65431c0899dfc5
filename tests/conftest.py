"""Fixtures shared by every test folder.

Tests never need ../shared (a fresh clone has none): what they use is made
here or shipped in assets/.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
