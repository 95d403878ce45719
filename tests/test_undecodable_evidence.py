"""A message whose body cannot be read is still its sender's evidence, from the SIM to export.

Crafted PDUs (a readable TP header, a broken body) reach the real daemon through the simulated
dongle; `anti-relous export --from NUMBER` must then return them with that sender's other
messages: a harasser must not keep threats out of a complaint by breaking their bodies.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from daemon_helpers import eventually
from pdu_helpers import (
    BOTH_CONCATENATIONS,
    COMPRESSED,
    CUT_BODY,
    HEADER_TOO_LONG,
    ODD_UCS2,
    PART_0_OF_2,
    SENDER,
    STAMPED,
    crafted,
)

from anti_relous.cli import cli

UNDECODABLE = [ODD_UCS2, COMPRESSED, HEADER_TOO_LONG, CUT_BODY]
READ_AS_SINGLE = [PART_0_OF_2, BOTH_CONCATENATIONS]


@pytest.mark.slow
def test_export_from_a_sender_includes_their_undecodable_messages(tmp_path, sim, run_daemon):
    daemon = run_daemon(sim)
    for body in [*UNDECODABLE, *READ_AS_SINGLE]:
        sim.deliver_pdu(crafted(body))
    sim.deliver(SENDER, "un message lisible")
    sim.deliver("+33698765432", "quelqu'un d'autre")
    assert eventually(lambda: daemon.count("SELECT count(*) FROM messages") == 8), daemon.log
    daemon.stop()
    config = str(tmp_path / "config.toml")
    result = CliRunner().invoke(
        cli, ["--config", config, "export", "--format", "json", "--from", "0612345678"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 7 and {r["sender"] for r in records} == {SENDER}
    crafted_records = [r for r in records if r["text"] != "un message lisible"]
    assert all(r["smsc_time"] == STAMPED.isoformat() for r in crafted_records)
    kinds = sorted((r["kind"], r["decode_error"] is not None) for r in crafted_records)
    assert kinds == [("sms", True)] * 2 + [("undecodable", True)] * 4
    assert {r["text"] for r in records if r["kind"] == "sms"} == {"hi", "un message lisible"}
