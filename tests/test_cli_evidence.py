"""Evidence from the CLI: export (JSON Lines, CSV, to a file with progress) and verify."""

from __future__ import annotations

import csv
import io
import json
import stat
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
    assert "(1 message before it verified)" in result.stderr


def test_verify_json(line):
    report = json.loads(line.invoke("verify", "--json").output)
    assert (report["ok"], report["checked"], report["broken_id"]) == (True, 3, None)


# --- hostile texts and senders ------------------------------------------------------------------


def test_json_export_escapes_controls_c1_and_bidi_and_keeps_the_exact_text(line):
    hostile = "\x1b[2J\x9b31m\u202egpj.exe\x7f"
    line.receive("=1+1", hostile)
    result = line.invoke("export")
    assert not {"\x1b", "\x9b", "\u202e", "\x7f"} & set(result.stdout)
    assert json_lines(result.stdout)[-1]["text"] == hostile


def test_csv_export_warns_that_a_spreadsheet_may_run_texts_and_senders(line, tmp_path):
    result = line.invoke("export", "--format", "csv", "--output", str(tmp_path / "x.csv"))
    assert result.exit_code == 0
    assert "Warning: texts and senders are in this CSV exactly as received" in result.stderr
    assert "--safe-csv" in result.stderr


def test_csv_export_to_a_pipe_warns_too(line):
    result = line.invoke("export", "--format", "csv")
    assert result.exit_code == 0
    assert "Warning: texts and senders" in result.stderr


def test_safe_csv_puts_a_quote_before_cells_a_spreadsheet_would_run(line):
    formulas = ["=1+1", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
    for text in formulas:
        line.receive("=HYPERLINK(1)", text)
    line.receive("+33611111111", "a=b, rien à craindre")
    result = line.invoke("export", "--format", "csv", "--safe-csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))[3:]
    assert [row["text"] for row in rows] == [
        *("'" + text for text in formulas),
        "a=b, rien à craindre",
    ]
    assert {row["sender_raw"] for row in rows[:-1]} == {"'=HYPERLINK(1)"}
    assert rows[-1]["sender"] == "'+33611111111"
    assert "--safe-csv put a ' before every cell" in result.stderr


def test_safe_csv_leaves_the_json_export_exact(line):
    result = line.invoke("export", "--format", "json", "--safe-csv")
    assert result.exit_code == 2
    assert "--safe-csv applies to CSV exports" in result.stderr


# --- what --format and the period mean -----------------------------------------------------------


@pytest.mark.parametrize("name", ["plainte.csv", "PLAINTE.CSV"])
def test_export_to_a_csv_file_is_csv_without_format(line, tmp_path, name):
    target = tmp_path / name
    assert line.invoke("export", "--output", str(target)).exit_code == 0
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["text"] for r in rows] == ["je sais où tu habites", "salut", "réponds"]


def test_format_given_wins_over_the_extension(line, tmp_path):
    target = tmp_path / "x.csv"
    assert line.invoke("export", "--format", "json", "-o", str(target)).exit_code == 0
    assert len(json_lines(target.read_text())) == 3


def test_export_since_in_the_future_is_a_usage_error(line):
    result = line.invoke("export", "--since", "2999-01-01")
    assert result.exit_code == 2
    assert "--since" in result.stderr and "in the future" in result.stderr


def test_export_since_after_until_is_a_usage_error(line):
    result = line.invoke("export", "--since", "2026-02-03", "--until", "2026-02-02")
    assert result.exit_code == 2
    assert "is not before --until" in result.stderr


# --- the output file -----------------------------------------------------------------------------


def test_export_file_is_readable_by_the_group_only(line, tmp_path):
    target = tmp_path / "plainte.jsonl"
    line.invoke("export", "--output", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_export_refuses_an_existing_file_without_force(line, tmp_path):
    target = tmp_path / "plainte.jsonl"
    target.write_text("earlier export\n")
    result = line.invoke("export", "--output", str(target))
    assert result.exit_code == 1
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "earlier export\n"


def test_export_force_replaces_an_existing_file(line, tmp_path):
    target = tmp_path / "plainte.jsonl"
    target.write_text("earlier export\n")
    assert line.invoke("export", "--output", str(target), "--force").exit_code == 0
    assert len(json_lines(target.read_text())) == 3


@pytest.mark.parametrize("directory", [".", "{tmp}", "{tmp}/"])
def test_export_to_a_directory_is_a_usage_error_naming_a_file_to_give(
    line, tmp_path, monkeypatch, directory
):
    monkeypatch.chdir(tmp_path)
    result = line.invoke("export", "--output", directory.format(tmp=tmp_path))
    assert result.exit_code == 2
    assert "is a directory: give a file name, e.g." in result.stderr
    assert "Traceback" not in result.output


def test_export_never_follows_a_link_planted_at_a_temporary_name(line, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours\n")
    (tmp_path / ".plainte.csv.partial").symlink_to(victim)
    target = tmp_path / "plainte.csv"
    assert line.invoke("export", "--output", str(target)).exit_code == 0
    assert victim.read_text() == "not yours\n"
    assert target.read_text().startswith("id,received_at,")


def test_export_replaces_a_link_at_the_target_itself_with_force(line, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours\n")
    target = tmp_path / "plainte.csv"
    target.symlink_to(victim)
    assert line.invoke("export", "--output", str(target)).exit_code == 1
    assert line.invoke("export", "--output", str(target), "--force").exit_code == 0
    assert victim.read_text() == "not yours\n"
    assert not target.is_symlink()


def test_one_message_is_one_message_not_one_messages(tmp_path):
    line = Line(tmp_path)
    line.receive("+33612345678")
    assert line.invoke("verify").output.startswith("OK, 1 message; head hash ")
    exported = line.invoke("export", "--output", str(tmp_path / "out.jsonl"))
    assert "Exported 1 message to" in exported.stderr
    stats = line.invoke("stats").output
    assert "1 message (1 SMS part) from 1 sender" in stats


def test_verify_head_given_earlier_is_found_and_what_came_since_is_counted(tmp_path):
    line = Line(tmp_path)
    line.receive("+33612345678")
    line.receive("+33698765432")
    head = line.invoke("verify").output.split("head hash ")[1].strip()
    line.receive("+33611111111")
    result = line.invoke("verify", "--head", head)
    assert result.exit_code == 0, result.output
    assert f"{head} is message 2: the 2 messages up to it are unchanged" in result.output
    assert "1 message came after it" in result.output
    assert json.loads(line.invoke("verify", "--head", head, "--json").output)["head_found_at"] == 2


def test_verify_head_not_in_the_chain_exits_1(tmp_path):
    line = Line(tmp_path)
    line.receive("+33612345678")
    result = line.invoke("verify", "--head", "ab" * 32)
    assert result.exit_code == 1
    assert f"{'ab' * 32} is not in the chain" in result.stderr


def test_verify_head_must_look_like_a_sha256(tmp_path):
    result = Line(tmp_path).invoke("verify", "--head", "abc")
    assert result.exit_code == 2
    assert "64 hexadecimal digits" in result.stderr
