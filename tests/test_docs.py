"""The documentation: every command has help with an example and is in the README, whose examples
parse against the real command line."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from anti_relous.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    """(path, command) for every command and subcommand."""
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


cli.load_all()
COMMANDS = dict(commands())


def examples_in_help(command: click.Command) -> list[str]:
    lines = (command.help or "").splitlines()
    return [line.strip().removeprefix("sudo ") for line in lines if "anti-relous " in line
            and line.strip().removeprefix("sudo ").startswith("anti-relous ")]  # fmt: skip


def readme_examples() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines()
            if line.startswith("anti-relous ")]  # fmt: skip


def parse(line: str) -> click.Command:
    """Resolve ``line`` to its command and parse its options and arguments, without running it."""
    tokens = shlex.split(line, comments=True)
    assert tokens[0] == "anti-relous"
    group, args, parent, name = cli, tokens[1:], None, "anti-relous"
    while True:
        ctx = click.Context(group, info_name=name, parent=parent)
        _, rest, _ = group.make_parser(ctx).parse_args(args)
        if not rest:
            return group
        name, args = rest[0], rest[1:]
        command = group.get_command(ctx, name)
        assert command is not None, f"no command {name!r} in {line!r}"
        if not isinstance(command, click.Group):
            command.make_context(name, args, parent=ctx)  # raises on a bad option or value
            return command
        group, parent = command, ctx


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    command = COMMANDS[path]
    assert command.help and len(command.help.splitlines()[0]) > 10
    examples = examples_in_help(command)
    assert examples, f"`anti-relous {' '.join(path)}` has no example in its help"
    assert all(parse(example) is command for example in examples)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_is_in_the_readme(path):
    assert f"anti-relous {' '.join(path)}" in README


@pytest.mark.parametrize("line", readme_examples())
def test_readme_examples_parse(line):
    parse(line)


def test_readme_examples_cover_every_command():
    used = {parse(line) for line in readme_examples()}
    assert [path for path, command in COMMANDS.items() if command not in used] == []


def test_quickstart_is_exactly_make_demo_and_make_test():
    quickstart = README.split("## Quickstart", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in quickstart.splitlines()] == [
        "make demo",
        "make test",
    ]


def test_a_bad_example_would_be_caught():
    with pytest.raises(click.UsageError):
        parse("anti-relous pause --four 2h")


@pytest.mark.parametrize(
    "group", [[], ["simulate"], ["admin"]], ids=["anti-relous", "simulate", "admin"]
)
def test_command_lists_in_help_are_never_cut_short(group):
    from click.testing import CliRunner

    output = CliRunner().invoke(cli, [*group, "--help"], terminal_width=80).output
    listed = output.split("Commands:", 1)[1].splitlines()
    assert [line for line in listed if line.rstrip().endswith("...")] == []


QUICKSTART = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]


def test_quickstart_names_what_a_platform_without_a_python_gammu_wheel_needs():
    for package in ("libgammu-dev", "pkg-config", "gcc", "python3-dev"):
        assert package in QUICKSTART, package


def test_quickstart_demo_output_has_the_rows_the_demo_prints_and_says_they_vary():
    from anti_relous.simulator.demo import Outcome, summary_table
    from anti_relous.store.reports import Summary

    summary = Summary(
        inbound_messages=2008, inbound_parts=2008, senders=56, replies_sent=6,
        replies_failed=0, replies_unknown=0, replies_pending=0, sms_sent=7, parts_sent=12,
        decisions={"replied": 6, "campaign": 1000, "blocked": 950, "abuse_block": 50,
                   "number_quota": 1, "paused": 1},
    )  # fmt: skip
    outcome = Outcome(
        delivered_parts=2008, summary=summary, alerts_queued=1, alerts_sent=1,
        alert_delay_s=2.0, bots=50, bots_blocked=50, bot_replies=0, bot_replies_sent=0,
        chain_ok=True, chain_checked=2008, cloud_price=0.16, currency="EUR", elapsed_s=27,
    )  # fmt: skip
    printed = summary_table(outcome).splitlines()
    shown = QUICKSTART.split("It ends like this", 1)[1].split("```\n", 2)[1].splitlines()
    assert [line[:34] for line in shown[: len(printed)]] == [line[:34] for line in printed]
    assert "vary" in QUICKSTART.split("It ends like this", 1)[1].split("```", 1)[0]
