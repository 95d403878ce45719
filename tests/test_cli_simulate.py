"""`anti-relous simulate`: a dongle on a pty in one terminal, texted from another."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from daemon_helpers import eventually

from anti_relous.cli import cli
from anti_relous.simulator.control import control
from anti_relous.simulator.sandbox import SimulateDir


def simulate(place, *args):
    return CliRunner().invoke(cli, ["simulate", "--dir", str(place.root), *args])


def start_simulate(place, env=None):
    """`anti-relous simulate --dir`, until its banner is printed: (process, banner)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "anti_relous", "simulate", "--dir", str(place.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if not line or "Ctrl-C" in line:
            break
    return process, "".join(lines)


def stop(process):
    if process.poll() is None:
        process.kill()
        process.wait(10)
    process.stdout.close()


@pytest.fixture
def served(tmp_path):
    place = SimulateDir(tmp_path / "sim")
    process, banner = start_simulate(place)
    assert place.socket.exists(), banner
    yield place, process, banner
    stop(process)


@pytest.mark.parametrize("venv_on_path", [True, False], ids=["venv on PATH", "venv not on PATH"])
def test_the_command_for_the_other_terminal_runs_as_printed(tmp_path, venv_on_path):
    place = SimulateDir(tmp_path / "sim")
    path = "/usr/bin:/bin"
    if venv_on_path:
        path = f"{Path(sys.executable).parent}:{path}"
    process, banner = start_simulate(place, env={**os.environ, "PATH": path})
    try:
        (line,) = [row for row in banner.splitlines() if "In another terminal:" in row]
        command = shlex.split(line.split("In another terminal:", 1)[1])
        assert command[-3:] == ["--config", str(place.config), "run"]
        program = shutil.which(command[0], path=path)
        assert program is not None, f"{command[0]!r} is not a command on PATH={path}"
        version = subprocess.run(
            [program, *command[1:-3], "--version"], capture_output=True, text=True, check=False
        )
        assert version.stdout.startswith("anti-relous, version"), version
        assert (command[0] == "anti-relous") is venv_on_path
    finally:
        stop(process)


def test_simulate_prints_the_port_and_a_config_pointing_at_it(served):
    place, _, banner = served
    assert f"Simulated dongle on {place.link}" in banner
    assert f'port = "{place.link}"' in place.config.read_text()
    assert f"anti-relous --config {place.config} run" in banner


def test_simulate_text_delivers_an_sms_to_the_running_simulator(served):
    place, _, _ = served
    result = simulate(place, "text", "+33612345678", "salut")
    assert (result.exit_code, result.output.strip()) == (
        0,
        "Delivered from +33612345678 (1 part).",
    )
    stats = control(place.socket, {"op": "stats"})["stats"]
    assert stats["stored"] + stats["queued"] == 1


def test_simulate_sent_lists_nothing_before_the_line_replies(served):
    place, _, _ = served
    assert simulate(place, "sent").output.strip() == "Nothing sent yet."


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_simulate_stops_cleanly_on_ctrl_c_or_sigterm(served, signum):
    place, process, _ = served
    process.send_signal(signum)
    assert process.wait(15) == 0
    assert "Simulator stopped." in process.stdout.read()
    assert not place.socket.exists()
    assert not place.link.exists()


def test_simulate_text_without_a_simulator_exits_1(tmp_path):
    result = simulate(SimulateDir(tmp_path), "text", "+33612345678", "salut")
    assert result.exit_code == 1
    assert "start one with `anti-relous simulate`" in result.stderr


@pytest.mark.slow
def test_the_daemon_on_the_simulator_answers_a_text(served):
    place, _, _ = served
    daemon = subprocess.Popen(
        [sys.executable, "-m", "anti_relous", "--config", str(place.config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        simulate(place, "text", "+33612345678", "salut")
        assert eventually(lambda: "to +33612345678: Ce numéro" in simulate(place, "sent").output)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0


def test_a_refused_request_prints_the_simulators_reason_not_its_raw_answer(served):
    place, _, _ = served
    result = simulate(place, "text", "+3361234567890123456789", "salut")
    assert result.exit_code == 1
    assert "cannot encode an SMS from '+3361234567890123456789'" in result.stderr
    assert "{" not in result.stderr and "PduError" not in result.stderr


def test_a_second_simulate_on_the_same_dir_refuses_and_leaves_the_first_serving(served):
    place, first, _ = served
    second = subprocess.run(
        [sys.executable, "-m", "anti_relous", "simulate", "--dir", str(place.root)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert second.returncode == 1
    assert f"a simulator (pid {first.pid}) already runs in {place.root}" in second.stderr
    assert first.poll() is None
    assert simulate(place, "text", "+33612345678", "salut").exit_code == 0
