"""Impossible plan settings are refused before anything is measured, from the CLI and from YAML."""

from __future__ import annotations

import pytest

from edgekit.cli import main
from edgekit.errors import ConfigError
from edgekit.planner.config import PlanConfig


@pytest.mark.parametrize("field, value", [("seconds", -1.0), ("seconds", 0.0), ("calibration_samples", 0),
                                          ("latency_budget_ms", -5.0), ("max_model_mb", 0.0)])
def test_non_positive_settings_are_a_config_error_naming_the_setting(field, value):
    with pytest.raises(ConfigError, match=field):
        PlanConfig(model="demo:digits", **{field: value})


def test_plan_cli_refuses_negative_seconds_in_one_line(capsys):
    assert main(["plan", "demo:does-not-matter", "--seconds", "-1"]) == 2
    err = capsys.readouterr().err
    assert "seconds must be greater than 0" in err and "Traceback" not in err


def test_run_refuses_a_yaml_with_negative_seconds(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text("plan:\n  model: demo:digits\n  seconds: -2\n")
    assert main(["run", str(path)]) == 2
    assert "seconds must be greater than 0" in capsys.readouterr().err
