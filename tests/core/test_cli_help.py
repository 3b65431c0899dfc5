"""`edgekit --help` and every subcommand's `--help`: they run, and every option says what it does."""

from __future__ import annotations

import re

import pytest
import typer

from edgekit.cli import app, main

GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)


def test_top_level_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert COMMANDS and all(name in out for name in COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_help_runs_and_documents_every_option(name, capsys):
    command = GROUP.commands[name]
    assert (command.help or "").strip(), f"`edgekit {name}` has no description"
    undocumented = [p.name for p in command.params
                    if p.param_type_name == "option" and not p.hidden and not (p.help or "").strip()]
    assert undocumented == [], f"`edgekit {name}` options without help: {undocumented}"
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert command.help.strip().splitlines()[0][:40] in " ".join(out.split())


def _commands() -> list[tuple[str, ...]]:
    """Every command's argv: ``("plan",)``, and a group's sub-commands, ``("device", "add")``."""
    argvs = []
    for name in COMMANDS:
        command = GROUP.commands[name]
        argvs.append((name,))
        if hasattr(command, "commands"):  # a group (typer's click is not the click package)
            argvs += [(name, sub) for sub in sorted(command.commands)]
    return argvs


@pytest.mark.parametrize("argv", _commands(), ids=" ".join)
def test_help_shows_every_option_name_whole_at_80_columns(argv, capsys, monkeypatch):
    """`edgekit compress --help` at 80 columns cut a flag to "--max-accuracy-d…": a newcomer cannot type it."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    command = GROUP.commands[argv[0]]
    for sub in argv[1:]:
        command = command.commands[sub]
    assert main([*argv, "--help"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out  # a word cut short: plan's --methods default read "fp32,fp16,int8,int8…"
    shown = set(re.findall(r"--[\w-]+", out))  # "--max-accuracy-d…" is not "--max-accuracy-drop"
    flags = [opt for p in command.params if p.param_type_name == "option" and not p.hidden  # typer's own click
             for opt in (*p.opts, *p.secondary_opts) if opt.startswith("--")]
    assert "--help" in shown
    assert [flag for flag in flags if flag not in shown] == [], out


def _help(argv: list[str], columns: int, capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def test_help_at_80_columns_gives_descriptions_room_and_examples_a_shell_takes(capsys, monkeypatch):
    """typer's panels left a description 22 characters at 80 columns: `plan --help` ran to 128 lines,
    "Labelled image / folder (one / sub-folder per / class)"; and a long example was wrapped mid-command."""
    from edgekit.cli._examples import EXAMPLES

    out = _help(["plan"], 80, capsys, monkeypatch)
    assert len(out.splitlines()) < 90
    assert "Labelled image folder (one sub-folder per" in out  # one line of the description
    assert "╭" not in out and "**" not in out and "`" not in out  # no panels, no markdown left showing
    card = _help(["card"], 80, capsys, monkeypatch)
    assert "shorter-crop" in card.replace("--resize shorter-crop", "")  # never cut at its hyphen
    examples = card[card.index("Examples:"):].split("\n\n")[1:]
    assert [" ".join(e.replace("\\\n", " ").split()) for e in examples] == EXAMPLES["card"]
    assert all(len(line) <= 80 for e in examples for line in e.splitlines())
    device = _help(["device"], 80, capsys, monkeypatch)
    assert "are used as OpenSSH would" in " ".join(device.split())  # a group's list: sentences whole
    assert not [line for line in device.splitlines()[1:] if line.endswith("...")], device


def test_wide_terminals_keep_the_panels(capsys, monkeypatch):
    out = _help(["plan"], 120, capsys, monkeypatch)
    assert "╭─ Options" in out and "Examples:" in out
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["plan", "--no-such-flag"]) == 2  # an error keeps typer's box whatever the width
    assert "╭" in capsys.readouterr().err
