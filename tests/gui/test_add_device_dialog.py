"""Adding a device from the app: a small dialog, the SDK's sentence on a mistake, a card with the badge."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _own_config(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CONFIG_DIR", str(tmp_path / "config"))


def test_add_device_saves_it_and_shows_a_measured_on_device_card(window, qtbot):
    from edgekit.devices.store import load_devices
    from edgekit_gui.optimize.target_cards import DEVICE_BADGE

    page = window.show_page("OptimizePage")
    dialog = page.ask_device()
    dialog.name.setText("raspberry-pi-5")  # a bundled target's name: refused in the SDK's words
    dialog.url.setText("ssh://pi@192.0.2.10")
    assert not dialog.save() and "already a bundled target" in dialog.error.text()
    dialog.url.setText("ssh://pi:secret@192.0.2.10")
    dialog.name.setText("pi5")
    assert not dialog.save() and "never stores passwords" in dialog.error.text()
    dialog.url.setText("ssh://pi@192.0.2.10:2222")
    dialog.target.setCurrentText("raspberry-pi-5")
    assert dialog.save()
    saved = load_devices()["pi5"]
    assert (saved.user, saved.host, saved.port, saved.target) == ("pi", "192.0.2.10", 2222, "raspberry-pi-5")
    qtbot.waitUntil(lambda: page.cards.current() is not None and page.cards.current().name == "pi5", timeout=5000)
    assert page.banner.kind == "success"
    assert any(DEVICE_BADGE in b.text() for b in page.cards.findChildren(type(page.run_button)))
