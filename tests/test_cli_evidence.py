"""Evidence from the CLI: export (JSON Lines, CSV, to a file with progress) and verify."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from cli_helpers import REGION, Line
from store_helpers import part

from anti_relous.cli import EXPORT_FIELDS, PROGRESS_THRESHOLD

DESIGN_EXPORT_KEYS = {"id", "received_at", "sender", "text", "parts", "decision", "chain_hash"}
T0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def line(tmp_path):
    line = Line(tmp_path)
    line.receive("+33612345678", "je sais où tu habites", at=T0)
    line.receive("+33698765432", "salut", at=T0 + timedelta(days=1))
    line.receive("+33612345678", "réponds", at=T0 + timedelta(days=2))
    return line


def json_lines(text):
    return [json.loads(row) for row in text.splitlines()]


def test_json_export_is_one_object_per_message_with_the_design_keys(line):
    result = line.invoke("export", "--format", "json", "--output", "-")
    assert result.exit_code == 0
    records = json_lines(result.stdout)
    assert [r["id"] for r in records] == [1, 2, 3]
    assert all(r.keys() >= DESIGN_EXPORT_KEYS for r in records)
    assert records[0]["text"] == "je sais où tu habites"
    assert records[0]["decision"] == "replied"


def test_export_carries_the_chain_hashes_that_verify_reports(line):
    records = json_lines(line.invoke("export").stdout)
    assert records[1]["prev_hash"] == records[0]["chain_hash"]
    assert records[-1]["chain_hash"] in line.invoke("verify").output


def test_export_filters_by_sender_and_period(line):
    records = json_lines(line.invoke("export", "--from", "0612345678").stdout)
    assert [r["text"] for r in records] == ["je sais où tu habites", "réponds"]
    since = (T0 + timedelta(hours=12)).isoformat()
    until = (T0 + timedelta(days=1, hours=12)).isoformat()
    records = json_lines(line.invoke("export", "--since", since, "--until", until).stdout)
    assert [r["text"] for r in records] == ["salut"]


def test_csv_export_has_every_field_and_joins_lists(line):
    result = line.invoke("export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0].keys()) == EXPORT_FIELDS
    assert [r["text"] for r in rows] == ["je sais où tu habites", "salut", "réponds"]
    assert len(rows[0]["pdu_sha256"]) == 64  # one part: one hash, no separator
    assert rows[0]["chain_hash"] == rows[1]["prev_hash"]


def test_csv_export_keeps_line_breaks_inside_the_text(line):
    line.receive("+33612345678", "ligne 1\nligne 2")
    rows = list(csv.DictReader(io.StringIO(line.invoke("export", "--format", "csv").stdout)))
    assert rows[-1]["text"] == "ligne 1\nligne 2"


def test_export_to_a_file_says_what_it_wrote(line, tmp_path):
    target = tmp_path / "plainte.jsonl"
    result = line.invoke("export", "--output", str(target))
    assert result.exit_code == 0
    assert len(json_lines(target.read_text())) == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"Exported 3 messages to {target}, last chain hash ")
    assert list(tmp_path.glob(".*partial")) == []


def test_export_into_a_missing_directory_exits_1(line, tmp_path):
    result = line.invoke("export", "--output", str(tmp_path / "no" / "such" / "dir.csv"))
    assert result.exit_code == 1
    assert "cannot write" in result.stderr


def test_large_export_to_a_file_shows_progress_on_stderr(line, tmp_path):
    with line.store() as store:
        store.inbound.ingest(
            [part(f"+336{i:08d}", "flood") for i in range(PROGRESS_THRESHOLD)], T0, REGION
        )
    target = tmp_path / "all.csv"
    result = line.invoke("export", "--format", "csv", "--output", str(target))
    assert result.exit_code == 0
    assert "Exporting" in result.stderr
    assert target.read_text().count("\n") == 1 + 3 + PROGRESS_THRESHOLD


def test_verify_reports_ok_with_the_count_and_head(line):
    result = line.invoke("verify")
    assert result.exit_code == 0
    assert result.output.startswith("OK, 3 messages; head hash ")


def test_verify_of_a_tampered_chain_names_the_first_broken_message_and_exits_1(line):
    with line.store() as store:
        store.db.conn.execute("UPDATE messages SET text = 'rien' WHERE id = 2")
    result = line.invoke("verify")
    assert result.exit_code == 1
    assert result.stdout.startswith("BROKEN at message 2: its text does not match")
    assert "+33698765432" in result.stdout and "rien" in result.stdout
    assert result.stderr.count("\n") == 1
    assert "broken at message 2: its text does not match" in result.stderr
    assert "(1 messages before it verified)" in result.stderr


def test_verify_json(line):
    report = json.loads(line.invoke("verify", "--json").output)
    assert (report["ok"], report["checked"], report["broken_id"]) == (True, 3, None)
