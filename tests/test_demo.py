"""`anti-relous demo`, smaller: the real daemon, the simulator, a flood, a pause and a resume."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from anti_relous.numbers import classify
from anti_relous.simulator.demo import bot_numbers
from anti_relous.sms import NumberKind
from anti_relous.store import Store

pytestmark = pytest.mark.slow

FLOOD, BOTS, OTHERS = 300, 10, 8


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """Where the demo writes its complaint pack."""
    return tmp_path_factory.mktemp("demo") / "demo-report"


@pytest.fixture(scope="module")
def played(report_dir):
    """Run `anti-relous demo --keep --report DIR` once; yields its output and its kept database."""
    result = subprocess.run(
        [sys.executable, "-m", "anti_relous", "demo", "--messages", str(FLOOD),
         "--bots", str(BOTS), "--keep", "--report", str(report_dir)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    kept = Path(re.search(r"Kept in (\S+):", result.stdout).group(1))
    with Store.open(kept / "line.db", create=False) as store:
        yield result.stdout, store
    shutil.rmtree(kept, ignore_errors=True)


def row(output, label):
    """The value column of one line of the summary table."""
    (line,) = [line for line in output.splitlines() if line.startswith(label)]
    return line[len(label) :].strip()


def test_every_sms_the_dongle_received_is_stored(played):
    output, store = played
    assert row(output, "SMS received by the dongle") == str(FLOOD + OTHERS)
    assert store.reports.summary().inbound_messages == FLOOD + OTHERS


def test_every_bot_is_blocked_and_gets_at_most_one_reply(played):
    output, store = played
    assert row(output, "bots blocked automatically") == f"{BOTS} of {BOTS}"
    bots = {b.target for b in store.line.blocks(datetime.now(UTC)) if b.automatic}
    replies = [i.recipient for i in store.outbox.items(limit=1000) if i.recipient in bots]
    assert len(replies) == len(set(replies))


def test_the_attack_answers_the_person_in_the_flood_and_alerts_the_operator_once(played):
    output, store = played
    decisions = store.reports.summary().decisions
    assert decisions.get("campaign", 0) + decisions.get("number_block", 0) > 0
    assert "held" not in decisions  # every hold ended with a final decision
    assert row(output, "alert SMS to the operator").startswith("1 sent, ")
    (alert,) = [item for item in store.outbox.items(limit=1000) if item.kind == "alert"]
    assert alert.state == "sent"
    assert "someone texting in the middle of it: held 5s for a second look, decision replied" in (
        output
    )


def test_pause_holds_the_reply_and_resume_brings_it_back(played):
    output, _ = played
    assert "$ anti-relous pause --reason demo: media coverage tonight" in output
    assert "while paused: paused; after resume: replied" in output


def test_genuine_texters_get_one_reply_each(played):
    output, _ = played
    assert "5 messages recorded, 4 replies sent, 1 skipped (one reply per number)" in output


def test_the_summary_says_what_a_cloud_line_would_have_paid(played):
    output, store = played
    summary = store.reports.summary()
    parts = summary.inbound_parts + summary.parts_sent
    assert row(output, "a cloud SMS line would have paid").startswith(
        f"{parts * 0.16:,.2f} EUR ({parts:,} parts x 0.16)"
    )


def test_no_reply_leaves_for_a_bot_once_it_is_blocked(played):
    _, store = played
    blocked_at = {
        b.target: b.created_at for b in store.line.blocks(datetime.now(UTC)) if b.automatic
    }
    to_bots = [i for i in store.outbox.items(limit=10_000) if i.recipient in blocked_at]
    late = [i for i in to_bots if i.sent_at is not None and i.sent_at >= blocked_at[i.recipient]]
    assert late == []
    assert {i.state for i in to_bots} <= {"sent", "failed"}


def test_no_bot_of_the_flood_is_answered(played):
    # "Answered" is a reply that left. On a loaded box the daemon can read the flood's very first
    # SMS alone and queue it a reply (a lone SMS from a new number looks like a person's); that
    # bot's next SMS, seconds later, blocks it before the reply's turn (replies leave between
    # drains), so the count queued may be 1 while the count sent must stay 0.
    output, store = played
    assert re.fullmatch(r"\d+, 0 sent", row(output, "  to bot numbers"))
    bots = set(bot_numbers(BOTS))
    assert [i for i in store.outbox.items(limit=10_000) if i.recipient in bots and i.sent_at] == []


def test_piped_output_holds_no_progress_line_that_went_stale(played):
    output, _ = played
    assert [line for line in output.splitlines() if line.lstrip().startswith("stored ")] == []


def test_the_evidence_chain_verifies(played):
    output, store = played
    assert row(output, "evidence chain") == f"OK, {FLOOD + OTHERS} messages"
    assert store.evidence.verify().ok


def test_the_demo_ends_by_pointing_at_the_complaint_pack_of_its_flood(played, report_dir):
    output, store = played
    assert output.rstrip().splitlines()[-1] == (
        f"The complaint pack of this flood: {report_dir / 'report.html'} (open it in a browser)"
    )
    assert "$ anti-relous report --output" in output
    with (report_dir / "messages.csv").open(encoding="utf-8", newline="") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == store.reports.summary().inbound_messages
    numbers = set((report_dir / "numbers-33700.txt").read_text().split())
    assert numbers == {b.target for b in store.line.blocks(datetime.now(UTC)) if b.automatic}


def test_the_demo_pack_flags_the_texter_who_turned_threatening(played, report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    flagged = html.split('id="flagged"')[1].split("</section>")[0]
    assert "je sais où tu habites, réponds" in flagged
    assert "Salut, tu te souviens de moi ?" not in flagged


@pytest.mark.parametrize("count", [50, 200, 5000])
def test_bot_numbers_are_distinct_valid_mobiles_whatever_their_count(count):
    numbers = bot_numbers(count)
    assert len(set(numbers)) == count
    assert {classify(n, "FR").kind for n in numbers} == {NumberKind.MOBILE}


@pytest.mark.parametrize("args", [["--bots", "0"], ["--messages", "0"]])
def test_demo_refuses_an_empty_flood(args):
    from click.testing import CliRunner

    from anti_relous.cli import cli

    assert CliRunner().invoke(cli, ["demo", *args]).exit_code == 2
