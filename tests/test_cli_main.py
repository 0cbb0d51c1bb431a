"""The command table of `learningloop`: the listing `--help` shows without loading a command."""

from __future__ import annotations

import importlib

import click
import pytest
from click.testing import CliRunner

from learningloop.cli.main import COMMANDS, LearningLoopGroup, main

MODULES = sorted({module for module, _ in COMMANDS.values()})


def loaded(name: str) -> click.Command:
    with click.Context(main) as ctx:
        command = main.get_command(ctx, name)
    assert command is not None, name
    return command


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listing_shortens_each_summary_as_the_command_s_own_help(name: str) -> None:
    # The table is checked against each command's docstring at every width click may give.
    module, summary = COMMANDS[name]
    command = loaded(name)
    assert command.callback is not None
    assert command.callback.__module__ == f"learningloop.cli.{module}"
    stand_in = click.Command(name, help=summary)
    for limit in range(3, 200):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), limit


def test_every_command_of_the_command_modules_is_in_the_table() -> None:
    names = {
        command.name
        for module in MODULES
        for command in importlib.import_module(f"learningloop.cli.{module}").COMMANDS
    }
    assert names == set(COMMANDS)


@pytest.mark.parametrize(
    ("typed", "meant"), [("sqll", "sql"), ("audt", "audit"), ("recrd", "record")]
)
def test_a_mistyped_command_is_told_the_closest_of_any_module(typed: str, meant: str) -> None:
    # A fresh group has loaded no command: an unknown name loads every module for click's
    # suggestion, whichever module the meant command is in.
    result = CliRunner().invoke(LearningLoopGroup("learningloop"), [typed])
    assert result.exit_code == 2
    assert f"No such command '{typed}'. Did you mean '{meant}'?" in result.stderr
