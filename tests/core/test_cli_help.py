"""`edgekit --help` and every subcommand's `--help`: they run, and every option says what it does."""

from __future__ import annotations

import click
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
                    if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert undocumented == [], f"`edgekit {name}` options without help: {undocumented}"
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert command.help.strip().splitlines()[0][:40] in " ".join(out.split())
