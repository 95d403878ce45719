"""Simulator realism, judged by a client nobody here wrote: the `gammu` command-line tool.

Each gammu run spends about 4 s in its own init pauses, so these tests are marked slow.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import require_tool

from anti_relous.simulator.device import ModemSimulator

pytestmark = pytest.mark.slow

NUMBER = "+33612345678"


@pytest.fixture
def sim():
    with ModemSimulator() as simulator:
        yield simulator


@pytest.fixture
def gammu(sim, tmp_path):
    """Run the gammu CLI against the simulator; returns its stdout."""
    binary = require_tool("gammu")
    gammurc = tmp_path / "gammurc"
    gammurc.write_text(f"[gammu]\ndevice = {sim.path}\nconnection = at\n")

    def run(*args: str) -> str:
        done = subprocess.run(
            [binary, "-c", str(gammurc), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"gammu {' '.join(args)} failed: {done.stdout}{done.stderr}"
        return done.stdout

    return run


def _field(output: str, name: str) -> str:
    for line in output.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    raise AssertionError(f"no {name!r} in gammu's output:\n{output}")


def test_gammu_identifies_the_dongle(gammu):
    output = gammu("--identify")
    assert _field(output, "Manufacturer") == "Huawei"
    assert _field(output, "Model").startswith("E173")
    assert _field(output, "IMEI") == "863565012345671"
    assert _field(output, "SIM IMSI") == "208011234567890"


def test_gammu_reads_single_multipart_ucs2_and_alphanumeric_messages(sim, gammu):
    long_text = "Tu vas voir ce que tu vas voir. " * 6
    parts = sim.deliver(NUMBER, "prix: 5€ [promo] {x} ~ ^ | \\ fin")
    parts += sim.deliver(NUMBER, long_text)
    parts += sim.deliver(NUMBER, "être là, ça va ? 😀")
    parts += sim.deliver("SFR Info", "Votre code: 1234")
    output = gammu("getallsms")
    assert f"{parts} SMS parts in {parts} SMS sequences" in output
    assert "prix: 5€ [promo] {x} ~ ^ | \\ fin" in output
    assert "être là, ça va ? 😀" in output
    assert "Votre code: 1234" in output and '"SFR Info"' in output
    # getallsms prints each part of a long message on its own; together they are the text.
    texts = [block.split("\n\n", 1)[1].split("\n\n")[0] for block in output.split("Location ")[1:]]
    assert long_text in "".join(texts)


def test_gammu_deleteallsms_empties_the_inbox(sim, gammu):
    sim.deliver(NUMBER, "un")
    sim.deliver(NUMBER, "deux")
    gammu("deleteallsms", "1")
    assert sim.stats().stored == 0 and sim.stats().deleted_parts == 2


def test_gammu_sendsms_unicode_arrives_decoded_and_intact(sim, gammu):
    gammu("sendsms", "TEXT", NUMBER, "-unicode", "-text", "ça marche, même avec 😀")
    assert sim.sent_messages() == [(NUMBER, "ça marche, même avec 😀")]
    assert sim.sent[0].coding == "ucs2"


def test_gammu_sendsms_long_gsm7_text_arrives_as_linked_parts(sim, gammu):
    text = "Réponse automatique: 5€ [merci] " * 8
    gammu("sendsms", "TEXT", NUMBER, "-len", str(len(text)), "-text", text)
    assert sim.sent_messages() == [(NUMBER, text)]
    assert {part.coding for part in sim.sent} == {"gsm7"} and len(sim.sent) == 2
