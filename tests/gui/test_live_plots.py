"""The live plots: axes follow the data after a start-up spike; legends sit outside the data."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture()
def plots(qtbot):
    from edgekit_gui.live.plots import LivePlots

    widget = LivePlots()
    widget.declare("fps", ["capture", "inference", "display"])
    widget.declare("ms", ["inference", "end to end"])
    qtbot.addWidget(widget)
    widget.resize(900, 220)
    widget.show()
    return widget


def _top(plot) -> float:
    return plot.getPlotItem().vb.viewRange()[1][1]


def test_the_latency_axis_shrinks_back_to_the_data_after_the_start_up_spike(plots):
    plots.add({"inference": 30.0}, {"inference": 25.0, "end to end": 40.0}, now=0.0)  # first frames, cold caches
    assert _top(plots.latency_plot) >= 40.0
    for second in range(1, 45):  # steady ~16 ms once warm; the spike leaves the 30 s window
        plots.add({"inference": 30.0}, {"inference": 11.0, "end to end": 16.0}, now=float(second))
    top = _top(plots.latency_plot)
    assert 16.0 < top <= 25.0, top  # the data fills most of the axis (not 16 ms on a 0..50 axis)
    for second in range(45, 50):  # and grows again with the data
        plots.add({"inference": 30.0}, {"inference": 40.0, "end to end": 55.0}, now=float(second))
    assert 55.0 < _top(plots.latency_plot) <= 80.0


def test_legends_sit_outside_the_plotted_area(plots):
    for plot in (plots.fps_plot, plots.latency_plot):
        item = plot.getPlotItem()
        legend, view = item.legend, item.vb
        assert legend is not None and len(legend.items) >= 2
        assert not legend.sceneBoundingRect().intersects(view.sceneBoundingRect())
