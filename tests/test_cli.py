"""The CLI's shell: configuration and database errors end in one line and the right exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_helpers import Line, as_operator
from click.testing import CliRunner

from anti_relous import __version__
from anti_relous.cli import OUTBOX_STATES, REASONS, cli
from anti_relous.store import Store

# Every command, with arguments that get it past click's own parsing.
COMMANDS_WITH_ARGS = [
    ["status"],
    ["stats"],
    ["pause"],
    ["resume"],
    ["block", "+33612345678"],
    ["unblock", "+33612345678"],
    ["blocks"],
    ["inbox"],
    ["outbox"],
    ["export"],
    ["verify"],
    ["send", "+33612345678", "test"],
    ["run"],
]


@pytest.fixture
def line(tmp_path):
    return Line(tmp_path)


def test_reason_choices_are_the_policy_reasons_and_undecided():
    from anti_relous.policy import Reason

    assert set(REASONS) == {reason.value for reason in Reason} | {"undecided"}


def test_outbox_state_choices_are_the_store_states():
    from anti_relous.store.outbox import STATES

    assert OUTBOX_STATES == STATES


def test_help_lists_the_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("run", "status", "pause", "export", "simulate"):
        assert f"  {name} " in result.output


def test_version_is_the_package_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert (result.exit_code, result.output.strip()) == (0, f"anti-relous, version {__version__}")


@pytest.mark.parametrize("args", COMMANDS_WITH_ARGS, ids=lambda a: a[0])
def test_missing_config_exits_2_with_the_init_hint(tmp_path, args):
    missing = tmp_path / "nowhere.toml"
    result = CliRunner().invoke(cli, ["--config", str(missing), *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert f"anti-relous init --path {missing}" in result.stderr


def test_config_path_comes_from_the_environment_without_option(tmp_path):
    missing = tmp_path / "from-env.toml"
    result = CliRunner(env={"ANTI_RELOUS_CONFIG": str(missing)}).invoke(cli, ["status"])
    assert result.exit_code == 2
    assert str(missing) in result.stderr


@pytest.mark.parametrize("args", [["run"], ["send", "+33612345678", "test"]], ids=lambda a: a[0])
def test_invalid_config_names_the_key_and_exits_2(tmp_path, args):
    config = tmp_path / "config.toml"
    config.write_text('[quota]\nreplies_per_day = "lots"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 2
    assert "[quota] replies_per_day" in result.stderr
    assert "Traceback" not in result.output


LENIENT_COMMANDS = [
    ["pause", "--reason", "incident"],
    ["resume"],
    ["block", "0612345678"],
    ["unblock", "0612345678"],
    ["blocks"],
    ["inbox"],
    ["outbox"],
    ["stats"],
    ["verify"],
    ["export"],
    ["status"],
]


@pytest.fixture
def line_with_a_typo(tmp_path):
    line = Line(tmp_path, {"quota": {"replies_per_dya": 5}})
    line.publish_daemon(pid=os.getpid())
    line.invoke("block", "0612345678")
    return line


@pytest.mark.parametrize("args", LENIENT_COMMANDS, ids=lambda a: a[0])
def test_steering_and_watching_run_on_a_config_with_a_typo_with_one_warning(line_with_a_typo, args):
    result = line_with_a_typo.invoke(*args)
    assert result.exit_code == 0, result.output
    (warning,) = [row for row in result.stderr.splitlines() if row.startswith("Warning")]
    assert "[quota] replies_per_dya" in warning and "did you mean replies_per_day?" in warning
    assert "anti-relous run" in warning


def test_a_bad_value_falls_back_to_its_default_for_such_commands(tmp_path):
    line = Line(tmp_path, {"quota": {"replies_per_hour": "lots", "replies_per_day": 7}})
    line.publish_daemon(pid=os.getpid())
    result = line.invoke("status", "--json")
    caps = {c["name"]: c["limit"] for c in json.loads(result.stdout)["caps"]}
    assert (caps["hour"], caps["day"]) == (60, 7)
    assert "[quota] replies_per_hour" in result.stderr


def test_a_broken_storage_section_still_stops_them(tmp_path):
    line = Line(tmp_path)
    line.config_path.write_text(line.config_path.read_text() + "databse = 'x.db'\n")
    result = line.invoke("pause")
    assert result.exit_code == 2
    assert "[storage] databse" in result.stderr and "did you mean database?" in result.stderr


@pytest.mark.parametrize(
    "args", [a for a in COMMANDS_WITH_ARGS if a[0] != "run"], ids=lambda a: a[0]
)
def test_missing_database_exits_1_and_says_how_to_create_it(line, args):
    line.db_path.unlink()
    result = line.invoke(*args)
    assert result.exit_code == 1
    assert "no database at" in result.stderr
    assert "anti-relous init" in result.stderr
    assert not line.db_path.exists()  # only init and run create it


@pytest.mark.parametrize(
    "args",
    [
        ["pause", "--for", "2x"],
        ["pause", "--for", "0s"],
        ["pause", "--until", "25:00"],
        ["pause", "--until", "yesterday"],
        ["pause", "--for", "1h", "--until", "23:00"],
        ["block", "12345678901234567890"],
        ["block", "not a number"],
        ["block", "+33612345678", "--for", "forever"],
        ["block", "abc*"],
        ["unblock", "06"],
        ["inbox", "--last", "0"],
        ["inbox", "--reason", "because"],
        ["outbox", "--state", "lost"],
        ["stats", "--since", "last tuesday"],
        ["export", "--format", "xml"],
        ["export", "--until", "soon"],
        ["send", "0000", "hello"],
        ["send", "+33612345678", "   "],
        ["status", "--bogus"],
        ["frobnicate"],
    ],
    ids=lambda a: " ".join(a),
)
def test_bad_input_is_a_usage_error_never_a_traceback(line, args):
    result = line.invoke(*args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Error" in result.stderr


def test_bad_number_is_one_line_naming_the_number(line):
    result = line.invoke("block", "06 12")
    assert result.exit_code == 2
    assert result.stderr == "Error: '06 12' is not a valid phone number; write it as +33612345678\n"


def test_bad_duration_is_one_line_with_the_accepted_forms(line):
    result = line.invoke("pause", "--for", "2 hours")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert '"24h"' in result.stderr


def test_database_not_writable_exits_1_and_names_the_fix(line):
    line.db_path.chmod(0o444)
    result = as_operator(["--config", str(line.config_path), "pause"])
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1
    assert "read-only" in result.stderr and "'anti-relous' group" in result.stderr
    with Store.open(line.db_path, create=False) as store:
        assert not store.line.state().paused


def test_config_not_readable_exits_2_and_names_the_group(line):
    line.config_path.chmod(0o000)
    result = as_operator(["--config", str(line.config_path), "status"])
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "permission denied" in result.stderr and "'anti-relous' group" in result.stderr


@pytest.fixture
def line_in_a_closed_directory(tmp_path):
    """A line whose database sits in a directory this user cannot enter (like /var/lib/anti-relous,
    2770, before `usermod -aG anti-relous` takes effect at the next login)."""
    state = tmp_path / "state"
    state.mkdir()
    line = Line(tmp_path, {"storage": {"database": str(state / "line.db")}})
    state.chmod(0o000)
    yield line
    state.chmod(0o700)


@pytest.mark.parametrize("args", [["status"], ["pause"], ["inbox"], ["send", "0612345678", "x"]])
def test_database_directory_not_enterable_exits_1_and_says_to_join_the_group(
    line_in_a_closed_directory, args
):
    result = as_operator(["--config", str(line_in_a_closed_directory.config_path), *args])
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "permission denied" in result.stderr
    assert "usermod -aG anti-relous" in result.stderr and "newgrp" in result.stderr


def test_doctor_reports_a_database_directory_not_enterable_as_a_problem(
    line_in_a_closed_directory,
):
    config = str(line_in_a_closed_directory.config_path)
    result = as_operator(["--config", config, "doctor", "--no-modem"])
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
    (database,) = [line for line in result.stdout.splitlines() if line[5:].startswith("database")]
    assert database.startswith("[XX]") and "permission denied" in database
    assert "newgrp anti-relous" in result.stdout


@pytest.mark.parametrize("args", [["status"], ["pause"], ["blocks", "--json"]], ids=lambda a: a[0])
def test_config_may_also_come_after_the_command(line, args):
    line.publish_daemon(pid=os.getpid())
    result = CliRunner().invoke(cli, [*args, "--config", str(line.config_path)])
    assert result.exit_code == 0, result.output


def test_config_before_and_after_the_command_must_agree(line, tmp_path):
    other = tmp_path / "other.toml"
    result = CliRunner().invoke(
        cli, ["--config", str(line.config_path), "status", "--config", str(other)]
    )
    assert result.exit_code == 2
    assert "--config" in result.stderr and str(other) in result.stderr


@pytest.mark.parametrize(
    "args", [["pause", "--for", "2x"], ["block", "0612345678", "--for", "forever"]], ids=str
)
def test_errors_name_the_option_as_typed(line, args):
    result = line.invoke(*args)
    assert result.stderr.startswith("Error: --for: "), result.stderr
    assert "--duration" not in result.stderr


def test_every_command_is_listed_where_it_is_defined_for_lazy_loading():
    cli.load_all()
    defined = {name: command.callback.__module__ for name, command in cli.commands.items()}
    assert defined == cli.lazy_commands


def modules_loaded_by_status(tmp_path) -> list[str]:
    """The modules a `status --json` process has imported when it is done."""
    line = Line(tmp_path)
    line.publish_daemon(pid=os.getpid())
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys; from anti_relous.cli import cli; "
         "sys.argv = ['anti-relous', '--config', sys.argv[1], 'status', '--json']; "
         "cli(standalone_mode=False, prog_name='anti-relous'); "
         "print(*sorted(sys.modules), file=sys.stderr)", str(line.config_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return loaded.stderr.strip().splitlines()[-1].split()


def test_a_command_imports_only_its_own_module(tmp_path):
    modules = modules_loaded_by_status(tmp_path)
    assert "anti_relous.cli.watching" in modules
    for other in ("running", "steering", "evidence"):
        assert f"anti_relous.cli.{other}" not in modules, modules


def test_status_imports_no_matching_library_nor_the_decision_code(tmp_path):
    # What `status` imports is what an operator waits for at every call (issue 17).
    modules = modules_loaded_by_status(tmp_path)
    for heavy in (
        "rapidfuzz", "phonenumbers", "anti_relous.policy.campaigns", "anti_relous.store.campaigns",
        "anti_relous.store.decisions", "anti_relous.store.inbound", "anti_relous.service",
        "anti_relous.deciding",
    ):  # fmt: skip
        assert heavy not in modules, heavy
