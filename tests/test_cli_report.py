"""`anti-relous report`: the complaint pack of a demo-like flood, its files, figures, evidence."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import unicodedata
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_helpers import Line
from conftest import require_tool
from report_helpers import BIDI, GREETING, ONERROR, SCRIPT, START, THREAT, demo_like_flood, play

from anti_relous.report.texts import LABELS, PERIOD_KINDS, REASONS

PACK_FILES = {
    "report.html",
    "messages.csv",
    "messages.jsonl",
    "numbers-33700.txt",
    "check_chain.py",
    "SHA256SUMS",
}
BOTS = 20


@pytest.fixture(scope="module")
def flood(tmp_path_factory):
    """A line that received the demo-like flood (read-only for the tests that share it)."""
    line = Line(tmp_path_factory.mktemp("flood"))
    with line.store() as store:
        play(store, line.config, demo_like_flood(bots=BOTS))
    return line


@pytest.fixture(scope="module")
def pack(flood, tmp_path_factory):
    """The default pack of the whole flood."""
    target = tmp_path_factory.mktemp("packs") / "plainte"
    result = flood.invoke("report", "--output", str(target))
    assert result.exit_code == 0, result.output
    return target


def make(line: Line, target: Path, *args: str) -> Path:
    result = line.invoke("report", "--output", str(target), *args)
    assert result.exit_code == 0, result.output
    return target


class Page(HTMLParser):
    """The parts of report.html the tests read: figures, sections' text, attributes."""

    def __init__(self, html: str):
        super().__init__()
        self.figures: dict[str, str] = {}
        self.decisions: dict[str, str] = {}
        self.sections: dict[str, list[str]] = {}
        self.attributes: list[tuple[str, str, str | None]] = []
        self._figure: str | None = None
        self._decision: str | None = None
        self._section: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag == "section":
            self._section = attributes["id"]
            self.sections[self._section] = []
        self._figure = attributes.get("data-figure") or self._figure
        self._decision = attributes.get("data-decision") or self._decision

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._section:
            self.sections[self._section].append(data)
        if self._figure:
            self.figures[self._figure] = data
            self._figure = None
        if self._decision:
            self.decisions[self._decision] = data
            self._decision = None

    def text(self, section: str) -> str:
        return "".join(self.sections[section])


def number(shown: str) -> float:
    """A figure as the French page writes it (2 008 / 90,08) read back."""
    return float(shown.replace("\u202f", "").replace(",", "."))


def page_of(target: Path) -> Page:
    return Page((target / "report.html").read_text(encoding="utf-8"))


def rows_of(target: Path) -> list[dict[str, str]]:
    with (target / "messages.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- the folder --------------------------------------------------------------------------------


def test_the_pack_holds_its_files_and_sha256sum_checks_them(pack):
    assert {path.name for path in pack.iterdir()} == PACK_FILES
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=pack, capture_output=True,
                             text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == len(PACK_FILES) - 1


def test_sha256sum_catches_a_file_changed_after_the_pack_was_made(flood, tmp_path):
    target = make(flood, tmp_path / "pack")
    with (target / "numbers-33700.txt").open("a") as numbers:
        numbers.write("+33600000000\n")
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=target, capture_output=True,
                             text=True, check=False)  # fmt: skip
    assert checked.returncode == 1
    assert "numbers-33700.txt: FAILED" in checked.stdout


def test_messages_csv_and_jsonl_are_the_rows_export_writes(flood, tmp_path):
    period = ("--since", (START + timedelta(minutes=7)).isoformat(),
              "--until", (START + timedelta(minutes=9)).isoformat())  # fmt: skip
    target = make(flood, tmp_path / "pack", *period)
    for fmt, name in (("csv", "messages.csv"), ("json", "messages.jsonl")):
        exported = tmp_path / f"export.{fmt}"
        result = flood.invoke("export", "--format", fmt, "--output", str(exported), *period)
        assert result.exit_code == 0, result.output
        assert (target / name).read_bytes() == exported.read_bytes()
    assert 0 < len(rows_of(target)) < 511


def test_the_folder_is_refused_when_it_already_holds_files(flood, tmp_path):
    target = tmp_path / "dossier"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    result = flood.invoke("report", "--output", str(target))
    assert result.exit_code == 1
    assert "already holds files: choose a new folder" in result.output
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_an_empty_folder_made_for_the_pack_is_used(flood, tmp_path):
    target = tmp_path / "vide"
    target.mkdir()
    assert {p.name for p in make(flood, target).iterdir()} == PACK_FILES


def test_no_partial_folder_is_left_when_the_pack_cannot_be_made(flood, tmp_path):
    config = flood.config_path.read_text() + '\n[report]\nflags = "missing.toml"\n'
    broken = tmp_path / "broken.toml"
    broken.write_text(config)
    result = Line.invoke(flood, "--config", str(broken), "report", "--output", str(tmp_path / "p"))
    assert result.exit_code == 2
    assert "cannot read the flag list" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.toml"]


def test_the_report_needs_its_extra_and_says_how_to_install_it(flood, tmp_path):
    # matplotlib missing, as on a Raspberry Pi with the daemon's install only.
    program = ("import sys; sys.modules['matplotlib'] = None; from anti_relous.cli import main; "
               "main()")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", program, "--config", str(flood.config_path), "report",
         "--output", str(tmp_path / "p")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "pip install 'anti-relous[report]'" in done.stderr
    assert "Traceback" not in done.stderr


# --- the figures -------------------------------------------------------------------------------


def test_the_report_counts_equal_stats_json_for_the_same_period(flood, tmp_path):
    period = ("--since", (START + timedelta(minutes=7)).isoformat(),
              "--until", (START + timedelta(minutes=30)).isoformat())  # fmt: skip
    stats = json.loads(flood.invoke("stats", "--json", *period).output)
    page = page_of(make(flood, tmp_path / "pack", *period))
    for key in ("inbound_messages", "inbound_parts", "senders", "replies_sent",
                "auto_blocked_numbers", "cloud_cost_avoided"):  # fmt: skip
        assert number(page.figures[key]) == stats[key], key
    assert {reason: number(n) for reason, n in page.decisions.items()} == stats["decisions"]
    assert stats["inbound_messages"] not in (0, 511)  # the period cuts the flood


def test_the_whole_flood_is_counted_with_its_attack_and_its_campaign(pack):
    page = page_of(pack)
    assert number(page.figures["inbound_messages"]) == 511
    assert number(page.figures["attack_periods"]) == 1
    assert number(page.figures["campaigns"]) == 1
    assert "attaque (flood ou vague de nouveaux numéros)" in page.text("summary")


def test_33700_lists_the_bots_and_none_of_the_genuine_texters(pack):
    numbers = (pack / "numbers-33700.txt").read_text().splitlines()
    bots = {f"+336{99000000 + i * 7919:08d}" for i in range(BOTS)}
    assert set(numbers) == bots
    assert len(numbers) == BOTS


# --- what needs a human eye --------------------------------------------------------------------


def test_a_threat_in_the_flood_is_flagged_and_a_greeting_is_not(pack):
    page = page_of(pack)
    assert THREAT in page.text("flagged")
    assert GREETING not in page.text("flagged")
    assert GREETING in page.text("log")
    assert THREAT in page.text("log")  # flagged, never hidden


def test_hostile_markup_is_shown_as_text_never_as_markup(pack):
    html = (pack / "report.html").read_text(encoding="utf-8")
    page = page_of(pack)
    assert SCRIPT in page.text("log")
    assert ONERROR in page.text("log")
    assert "<script" not in html
    assert "onerror" not in {name for _, name, _ in page.attributes}
    assert {tag for tag, _, _ in page.attributes}.isdisjoint({"script", "img", "iframe"})


def test_no_control_bidi_or_invisible_character_reaches_the_page_raw(pack):
    html = (pack / "report.html").read_text(encoding="utf-8")
    raw = {c for c in html if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"}
    assert raw == set()
    assert BIDI.replace("\u202e", "⟨U+202E⟩").replace("\u202c", "⟨U+202C⟩") in html


def test_the_page_forbids_scripts_and_loads_nothing(pack):
    page = page_of(pack)
    (policy,) = [v for t, n, v in page.attributes if t == "meta" and n == "content" and "src" in v]
    assert "default-src 'none'" in policy
    links = [value for _, name, value in page.attributes if name.endswith("href")]
    assert links and all(link.startswith("#") for link in links)
    assert not [name for _, name, _ in page.attributes if name in ("src", "srcset", "action")]


# --- the evidence chain ------------------------------------------------------------------------


def test_the_method_section_gives_the_head_hash_verify_prints(flood, pack):
    verified = flood.invoke("verify")
    head = verified.output.split("head hash ")[1].strip()
    method = page_of(pack).text("method")
    assert head in method
    assert "anti-relous verify" in method
    assert "python3 check_chain.py" in method


def test_editing_a_message_makes_verify_and_the_method_section_name_the_broken_row(tmp_path):
    line = Line(tmp_path)
    with line.store() as store:
        play(store, line.config, demo_like_flood(bots=5, flood=60))
    with sqlite3.connect(line.db_path) as conn:
        conn.execute("UPDATE messages SET text = 'rien de grave' WHERE id = 30")
    assert "BROKEN at message 30" in line.invoke("verify").output
    result = line.invoke("report", "--output", str(tmp_path / "pack"))
    assert result.exit_code == 0
    assert "CHAIN BROKEN at message 30" in result.output
    method = page_of(tmp_path / "pack").text("method")
    assert "La chaîne est rompue au message\nn° 30" in method
    assert "its text does not match the recorded hash" in method
    english = page_of(make(line, tmp_path / "en", "--lang", "en")).text("method")
    assert "The chain is broken at message\n30" in english


def test_check_chain_verifies_the_csv_by_hand(pack):
    done = subprocess.run([sys.executable, "check_chain.py", "messages.csv"], cwd=pack,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout
    rows = rows_of(pack)
    assert done.stdout == f"OK, {len(rows)} messages; last chain hash {rows[-1]['chain_hash']}\n"


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("text", "rien de grave", "its text does not match text_sha256"),
        ("sender", "+33600000000", "chain_hash does not match the row"),
        ("received_at", "2026-11-28T19:00:00+00:00", "chain_hash does not match the row"),
    ],
)
def test_check_chain_names_the_first_altered_row(pack, tmp_path, column, value, why):
    shutil.copy(pack / "check_chain.py", tmp_path)
    with (pack / "messages.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows, fields = list(reader), reader.fieldnames
    rows[41][column] = value
    with (tmp_path / "messages.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    done = subprocess.run([sys.executable, "check_chain.py", "messages.csv"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.startswith(f"BROKEN at message {rows[41]['id']}: {why}")


def test_check_chain_agrees_with_the_store_on_every_kind_of_row(tmp_path):
    from anti_relous.modem import pdu
    from anti_relous.sms import Concat, DecodedPart, PartKind, ReceivedPart

    line = Line(tmp_path)
    when = START
    with line.store() as store:
        play(store, line.config, demo_like_flood(bots=3, flood=30))
        long_parts = [
            ReceivedPart("SM", 900 + seq, f"part{seq}".encode(), PartKind.DELIVER,
                         decoded=DecodedPart("+33611112222", text, when, "ucs2",
                                             Concat(9, 2, seq, 8)), unread=True)
            for seq, text in ((1, "première moitié \x1b[2J"), (2, " seconde\n« moitié »"))
        ]  # fmt: skip
        broken = pdu.decode_stored("SM", 950, b"\x00\x04\xff", unread=True)
        formula = DecodedPart("=1+1", "", when, "gsm7", None)
        empty = ReceivedPart("SM", 951, b"empty", PartKind.DELIVER, decoded=formula, unread=True)
        later = when + timedelta(hours=2)
        result = store.inbound.ingest([*long_parts, broken, empty], later, "FR")
        store.inbound.confirm_deleted(result.committed)
        store.evidence.purge(later + timedelta(days=1), timedelta(hours=25))
    target = make(line, tmp_path / "pack")
    kinds = {row["kind"] for row in rows_of(target)}
    assert kinds == {"sms", "undecodable"}
    done = subprocess.run([sys.executable, "check_chain.py", "messages.csv"], cwd=target,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout


# --- options -----------------------------------------------------------------------------------


def test_from_keeps_one_sender_in_every_file(flood, tmp_path):
    target = make(flood, tmp_path / "pack", "--from", "0645678901")
    page = page_of(target)
    assert number(page.figures["inbound_messages"]) == 1
    assert THREAT in page.text("log")
    assert [row["sender"] for row in rows_of(target)] == ["+33645678901"]
    assert (target / "numbers-33700.txt").read_text() == ""


def test_from_with_a_star_keeps_the_numbers_starting_with_a_prefix(flood, tmp_path):
    target = make(flood, tmp_path / "pack", "--from", "06990*")
    senders = {row["sender"] for row in rows_of(target)}
    assert senders and all(sender.startswith("+336990") for sender in senders)


def test_a_prefix_that_is_not_digits_is_a_usage_error(flood, tmp_path):
    result = flood.invoke("report", "--from", "abc*", "--output", str(tmp_path / "p"))
    assert result.exit_code == 2
    assert "is not a number prefix" in result.output


def test_the_report_is_in_english_with_lang_en(flood, tmp_path):
    html = (make(flood, tmp_path / "pack", "--lang", "en") / "report.html").read_text()
    assert '<html lang="en">' in html
    assert "Full message log" in html
    assert "Journal complet" not in html


def test_a_period_without_messages_still_makes_a_pack(flood, tmp_path):
    target = make(flood, tmp_path / "pack", "--since", "2025-01-01", "--until", "2025-01-02")
    assert number(page_of(target).figures["inbound_messages"]) == 0
    assert (target / "messages.csv").read_text().count("\n") == 1  # the header


def test_a_period_that_cannot_hold_messages_is_a_usage_error(flood, tmp_path):
    result = flood.invoke("report", "--since", "2025-01-02", "--until", "2025-01-01",
                          "--output", str(tmp_path / "p"))  # fmt: skip
    assert result.exit_code == 2
    assert "is not before --until" in result.output
    assert not (tmp_path / "p").exists()


def test_both_languages_have_the_same_words():
    for table in (LABELS, REASONS, PERIOD_KINDS):
        assert table["fr"].keys() == table["en"].keys()


# --- --sign ------------------------------------------------------------------------------------


@pytest.fixture
def gnupg(tmp_path):
    """A throwaway OpenPGP key, no passphrase, in a GNUPGHOME of its own (agent stopped after)."""
    gpg = require_tool("gpg")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        [gpg, "--batch", "--passphrase", "", "--quick-gen-key", "Ligne <ligne@example.org>",
         "ed25519", "sign", "never"],
        env=env, capture_output=True, check=True,
    )  # fmt: skip
    yield gpg, env
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, check=False)


def test_sign_adds_an_openpgp_signature_of_sha256sums_that_gpg_verifies(flood, tmp_path, gnupg):
    gpg, env = gnupg
    target = tmp_path / "signed"
    result = flood.invoke("report", "--sign", "ligne@example.org", "--output", str(target),
                          env={"GNUPGHOME": env["GNUPGHOME"]})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {p.name for p in target.iterdir()} == {*PACK_FILES, "SHA256SUMS.asc"}
    verify = [gpg, "--verify", "SHA256SUMS.asc", "SHA256SUMS"]
    assert subprocess.run(verify, cwd=target, env=env, capture_output=True).returncode == 0
    assert "SHA256SUMS.asc" in page_of(target).text("method")
    with (target / "SHA256SUMS").open("a") as sums:
        sums.write("0" * 64 + "  extra.txt\n")
    assert subprocess.run(verify, cwd=target, env=env, capture_output=True).returncode == 1


def test_sign_with_an_unknown_key_fails_and_leaves_no_folder(flood, tmp_path, gnupg):
    _, env = gnupg
    target = tmp_path / "signed"
    result = flood.invoke("report", "--sign", "nobody@example.org", "--output", str(target),
                          env={"GNUPGHOME": env["GNUPGHOME"]})  # fmt: skip
    assert result.exit_code == 1
    assert "gpg could not sign with the key 'nobody@example.org'" in result.output
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["gnupg"]
