"""The CLI against the real daemon (`anti-relous run` as a subprocess) and the simulated dongle."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from daemon_helpers import Daemon, eventually, write_config

from anti_relous.cli import cli

pytestmark = pytest.mark.slow


class CliDaemon(Daemon):
    """The daemon started the way systemd starts it: `anti-relous --config PATH run`."""

    def start(self) -> CliDaemon:
        log = self.config_path.with_suffix(".log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "anti_relous", "--config", str(self.config_path), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self


@pytest.fixture
def daemon(tmp_path, sim):
    config = write_config(tmp_path, sim)
    running = CliDaemon(config, tmp_path / "line.db").start().wait_ready()
    yield running
    running.stop()


def admin(daemon, *args):
    result = CliRunner().invoke(cli, ["--config", str(daemon.config_path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def decided(daemon, count):
    return eventually(lambda: daemon.count("SELECT count(*) FROM decisions") >= count, 30)


def test_status_sees_the_running_daemon_and_its_modem(daemon):
    assert eventually(lambda: "huawei" in admin(daemon, "status"), 30)
    output = admin(daemon, "status")
    assert f"running, pid {daemon.process.pid}" in output


def test_pause_while_running_records_without_replying_and_resume_replies_again(daemon, sim):
    admin(daemon, "pause", "--reason", "test")
    sim.deliver("+33612345678", "pendant la pause")
    assert decided(daemon, 1)
    assert daemon.query("SELECT reason FROM decisions") == [("paused",)]
    assert daemon.count("SELECT count(*) FROM messages") == 1
    admin(daemon, "resume")
    sim.deliver("+33698765432", "après")
    assert eventually(lambda: len(sim.sent_messages()) == 1, 30)
    assert sim.sent_messages()[0][0] == "+33698765432"
    assert daemon.query("SELECT reason FROM decisions ORDER BY message_id") == [
        ("paused",),
        ("replied",),
    ]


def test_block_while_running_applies_to_the_next_message(daemon, sim):
    admin(daemon, "block", "0612345678")
    sim.deliver("+33612345678", "encore moi")
    assert decided(daemon, 1)
    assert daemon.query("SELECT reason FROM decisions") == [("blocked",)]


def test_status_after_the_daemon_stopped_says_it_is_not_running(daemon):
    daemon.stop()
    result = CliRunner().invoke(cli, ["--config", str(daemon.config_path), "status"])
    assert result.exit_code == 1
    assert "NOT RUNNING: the daemon stopped" in result.stdout


def test_run_that_cannot_create_its_database_exits_1(tmp_path, sim):
    config = write_config(tmp_path, sim, storage='database = "/proc/anti-relous/line.db"')
    result = subprocess.run(
        [sys.executable, "-m", "anti_relous", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot start" in result.stderr
    assert "Traceback" not in result.stderr
