"""Devices appear on the Optimize page as target cards with a "measured on device" badge."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytestmark = pytest.mark.gui


def test_a_device_is_a_card_with_the_badge_and_plans_by_its_name(qtbot, client_key):
    from edgekit.devices.store import Device, add_device
    from edgekit_gui.optimize.target_cards import DEVICE_BADGE, TargetCards, device_targets
    from edgekit_gui.pages.optimize import target_location

    add_device(Device("pi5", "192.0.2.7", "pi", 22, str(client_key), "raspberry-pi-5"))  # nothing is contacted
    add_device(Device("nuc", "192.0.2.8", "me", 2222, str(client_key)))
    cards = TargetCards()
    qtbot.addWidget(cards)
    for target in device_targets():
        cards.add_target(target)
    assert set(cards.buttons) == {"pi5", "nuc"}
    pi5 = cards.buttons["pi5"].text()
    assert DEVICE_BADGE in pi5 and "aarch64" in pi5 and "4 cores" in pi5
    nuc = cards.buttons["nuc"].text()  # added without --target: what it is is read when a plan connects
    assert DEVICE_BADGE in nuc and "read over SSH when a plan runs" in nuc and "0 cores" not in nuc, nuc
    assert "raspberry-pi-5" in cards.buttons["pi5"].toolTip()
    with qtbot.waitSignal(cards.chosen) as chosen:
        cards.select("pi5")
    assert target_location(chosen.args[0]) == "pi5"  # the plan's --target: measured on the device
