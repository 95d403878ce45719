"""Driving a running simulator from another process through its AF_UNIX control channel."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from simulator_host import Host

from anti_relous.modem import pdu
from anti_relous.simulator.control import ControlServer, SimulatorControlError, control
from anti_relous.simulator.device import ModemSimulator


@pytest.fixture
def served(tmp_path):
    socket_path = tmp_path / "sim.sock"
    with ModemSimulator() as sim, ControlServer(sim, socket_path):
        yield sim, socket_path


def test_deliver_through_the_socket_reaches_the_sim(served):
    sim, socket_path = served
    assert control(socket_path, {"op": "deliver", "sender": "+33612345678", "text": "salut"}) == {
        "ok": True,
        "parts": 1,
    }
    assert sim.wait_until(lambda s: s.stats().stored == 1, timeout=5)


def test_another_process_can_deliver_and_read_stats(served):
    _, socket_path = served
    script = (
        "import json, sys\n"
        "from anti_relous.simulator.control import control\n"
        "control(sys.argv[1], {'op': 'deliver', 'sender': 'SFR Info', 'text': 'x' * 200})\n"
        "print(json.dumps(control(sys.argv[1], {'op': 'stats'})['stats']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(socket_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout)["delivered_parts"] == 2


def test_sent_lists_what_the_host_sent(served):
    sim, socket_path = served
    host = Host(sim.path)
    (submit,) = pdu.encode_submit("+33612345678", "ça marche")
    host.command("ATE0")
    host.command(f"AT+CMGS={submit.tpdu_length}")
    host.write(submit.hex.encode() + b"\x1a")
    host.read_final()
    host.close()
    answer = control(socket_path, {"op": "sent"})
    assert answer["messages"] == [["+33612345678", "ça marche"]]
    assert answer["sent"][0]["coding"] == "ucs2"


def test_unplug_and_replug_through_the_socket(served):
    sim, socket_path = served
    control(socket_path, {"op": "unplug"})
    assert not sim.path.exists()
    control(socket_path, {"op": "replug"})
    assert sim.path.exists()


def test_unknown_operation_is_refused_with_a_reason(served):
    _, socket_path = served
    with pytest.raises(SimulatorControlError, match="unknown op"):
        control(socket_path, {"op": "explode"})


def test_bad_hex_pdu_is_refused_not_fatal(served):
    sim, socket_path = served
    with pytest.raises(SimulatorControlError, match="ValueError"):
        control(socket_path, {"op": "deliver_pdu", "pdu": "zz"})
    assert control(socket_path, {"op": "path"})["path"] == str(sim.path)


def test_no_simulator_listening_says_how_to_start_one(tmp_path):
    with pytest.raises(SimulatorControlError, match="anti-relous simulate"):
        control(tmp_path / "nothing.sock", {"op": "stats"})
