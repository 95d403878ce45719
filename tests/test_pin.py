"""A wrong PIN in the configuration, over restarts: the SIM keeps its tries, the operator is told.

The real daemon (a subprocess) runs against the simulated dongle whose SIM's PIN is 1234 while
the configuration says 0000. Three wrong PINs would lock the SIM behind its PUK, and systemd
restarts a daemon after a crash, an upgrade, a reboot: each start used to cost a try.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from daemon_helpers import eventually

from anti_relous.cli import cli
from anti_relous.simulator.device import ModemSimulator

WRONG = 'port = "{port}"\ncommand_timeout = "3s"\npin = "0000"'


@pytest.fixture
def locked_sim(tmp_path):
    with ModemSimulator(link=tmp_path / "modem", pin="1234") as sim:
        yield sim


def start_halted(run_daemon, sim, tmp_path):
    """Start a daemon on the wrong PIN; wait until it halts (its log is appended to per start)."""
    log = tmp_path / "config.log"
    halts = log.read_text().count("modem halted") if log.exists() else 0
    daemon = run_daemon(sim, ready=False, modem=WRONG.format(port=sim.path))
    assert eventually(lambda: daemon.log.count("modem halted") > halts, 30), daemon.log
    return daemon


@pytest.mark.slow
def test_three_daemon_starts_with_a_wrong_pin_leave_two_tries_on_the_sim(
    tmp_path, locked_sim, run_daemon
):
    for _ in range(3):
        daemon = start_halted(run_daemon, locked_sim, tmp_path)
        assert daemon.stop() == 0
    assert locked_sim.wrong_pin_attempts == 1, "only the first start entered the PIN"
    assert "will not enter it again" in daemon.log


@pytest.mark.slow
def test_status_and_doctor_say_the_pin_was_rejected_and_what_to_do(
    tmp_path, locked_sim, run_daemon
):
    daemon = start_halted(run_daemon, locked_sim, tmp_path)
    daemon.stop()
    config = str(tmp_path / "config.toml")
    status = CliRunner().invoke(cli, ["--config", config, "status"])
    assert "SIM PIN     REJECTED: the SIM rejected the PIN in [modem] pin on " in status.output
    assert "Correct [modem] pin" in status.output and "never tries" in status.output
    doctor = CliRunner().invoke(cli, ["--config", config, "doctor"])
    assert "will not enter it again" in doctor.output
    assert "correct [modem] pin" in doctor.output
    assert locked_sim.wrong_pin_attempts == 1, "doctor did not try the rejected PIN"
    retried = CliRunner().invoke(cli, ["--config", config, "doctor", "--retry-pin"])
    assert locked_sim.wrong_pin_attempts == 2 and "1 PIN try left" in retried.output
