"""`anti-relous replay`: recorded traffic through the line's own code, in virtual time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from anti_relous.cli import cli
from anti_relous.config import parse_config
from anti_relous.replay import TrafficError, read_traffic, replay_traffic_file

T0 = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
ALERT = "+33695000001"


def sms(seconds: float, sender: str, text: str, **extra: object) -> str:
    at = (T0 + timedelta(seconds=seconds)).astimezone()  # any offset, as an export writes
    return json.dumps({"received_at": at.isoformat(), "sender": sender, "text": text, **extra})


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(tmp_path: Path, traffic: Path, *args: str, config: str = "") -> tuple[int, str, str]:
    config_path = tmp_path / "try.toml"
    config_path.write_text(config + f'\n[storage]\ndatabase = "{tmp_path / "line.db"}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config_path), "replay", str(traffic), *args])
    return result.exit_code, result.stdout, result.stderr


def sent(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- reading traffic -------------------------------------------------------------------------


def test_traffic_is_read_oldest_first_whatever_the_file_order():
    traffic = read_traffic([sms(60, "+33612345678", "b"), "", sms(0, "+33612345679", "a")])
    assert [t.text for t in traffic] == ["a", "b"]
    assert traffic[0].received_at == T0 and traffic[0].line == 3


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "line 1: not JSON"),
        ("[1, 2]", "line 1: expected an object"),
        (json.dumps({"sender": "+33612345678", "text": "x"}), "'received_at' is missing"),
        (json.dumps({"received_at": "hier", "sender": "x", "text": "x"}), "not an ISO 8601"),
        (
            json.dumps({"received_at": "2026-12-01T20:00:00", "sender": "x", "text": "x"}),
            "needs an offset",
        ),
        (sms(0, " ", "x"), "sender is empty"),
        (sms(0, "+33612345678", "x", deliver_parts=[0]), "deliver_parts must be"),
    ],
)
def test_a_broken_traffic_line_is_named_with_what_is_wrong(line, problem):
    with pytest.raises(TrafficError, match=problem):
        read_traffic([line], source="t.jsonl")


def test_a_broken_traffic_file_is_a_usage_error_without_traceback(tmp_path):
    code, _, stderr = run(tmp_path, write(tmp_path / "t.jsonl", "{oops"))
    assert code == 2
    assert "t.jsonl, line 1: not JSON" in stderr and "Traceback" not in stderr


# --- the line in virtual time ----------------------------------------------------------------


def test_a_texter_is_answered_at_the_next_send_tick_and_the_second_sms_is_not(tmp_path):
    traffic = write(
        tmp_path / "t.jsonl",
        sms(0, "+33612345678", "Salut c'est Karim du métro"),
        sms(90, "0612345678", "tu es là ?"),
    )
    code, out, _ = run(tmp_path, traffic, "--output", str(tmp_path / "sent.jsonl"), "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["decisions"] == {"replied": 1, "number_quota": 1}
    ((reply),) = sent(tmp_path / "sent.jsonl")
    assert (reply["to"], reply["kind"], reply["parts"]) == ("+33612345678", "reply", 2)
    delay = datetime.fromisoformat(reply["sent_at"]) - T0
    assert timedelta(0) < delay <= timedelta(seconds=6.5)  # send_interval, from the first tick


def test_under_attack_new_numbers_are_held_then_decided_in_virtual_time(tmp_path):
    """A burst of new numbers is an attack: they are answered after the hold, bots never."""
    people = [
        "Bonsoir, on s'est croisés au café ce matin",
        "Hello c'est Yanis de la soirée de samedi",
        "Je suis le grand brun du bus 38, tu te souviens ?",
    ]
    lines = [sms(i, f"+336{i:08d}", "GAGNEZ UN IPHONE, répondez OUI") for i in range(1, 9)]
    lines += [sms(20 + i, f"+337{i}{i:07d}", text) for i, text in enumerate(people, start=3)]
    config = f'[alerts]\nnumbers = ["{ALERT}"]\n'
    code, out, _ = run(
        tmp_path,
        write(tmp_path / "t.jsonl", *lines),
        "--output", str(tmp_path / "sent.jsonl"), "--json",
        config=config,
    )  # fmt: skip
    assert code == 0, out
    summary = json.loads(out)
    # Two bots are answered before their text is seen three times; from the third, the text
    # is a campaign, which also starts the attack.
    assert summary["decisions"] == {"replied": 5, "campaign": 6}
    assert [p[0] for p in summary["attack_periods"]] == ["attack"]
    replies = [s for s in sent(tmp_path / "sent.jsonl") if s["kind"] == "reply"]
    people_numbers = {f"+337{i}{i:07d}" for i in range(3, 6)}
    assert people_numbers <= {r["to"] for r in replies}
    for reply in replies:
        if reply["to"] in people_numbers:
            waited = datetime.fromisoformat(reply["sent_at"]) - T0
            assert timedelta(minutes=20) <= waited <= timedelta(minutes=21)
    # The operator hears of its start, and of its end once it is over.
    alerts = [s["to"] for s in sent(tmp_path / "sent.jsonl") if s["kind"] == "alert"]
    assert alerts == [ALERT, ALERT]


def test_lone_first_parts_are_stored_as_a_network_would_deliver_them(tmp_path):
    long_text = "Ecoute moi bien, " * 20
    lines = [sms(i, f"+336{i:08d}", long_text + str(i), deliver_parts=[1]) for i in range(3)]
    database = tmp_path / "replay.db"
    code, out, _ = run(
        tmp_path, write(tmp_path / "t.jsonl", *lines), "--database", str(database), "--json"
    )
    assert code == 0, out
    summary = json.loads(out)
    assert (summary["messages"], summary["inbound_parts"]) == (3, 3)  # released incomplete
    result = CliRunner().invoke(cli, ["--database", str(database), "inbox", "--json"])
    assert {row["kind"] for row in json.loads(result.stdout)} == {"incomplete"}


def test_the_same_traffic_replays_to_the_same_result(tmp_path):
    lines = [sms(i * 7, f"+336{i % 40:08d}", f"texte {i % 5} " * (i % 3 + 1)) for i in range(200)]
    traffic = read_traffic(lines)
    config = parse_config(f'[alerts]\nnumbers = ["{ALERT}"]')
    first = replay_traffic_file(traffic, config, tmp_path / "a.db")
    second = replay_traffic_file(traffic, config, tmp_path / "b.db")
    assert (first.decisions, first.replies, first.attack_periods) == (
        second.decisions,
        second.replies,
        second.attack_periods,
    )


def test_an_export_of_the_line_replays_as_is(tmp_path):
    """`export --format json` writes what `replay` reads: last week's traffic, tried again."""
    database = tmp_path / "first.db"
    traffic = write(
        tmp_path / "t.jsonl",
        sms(0, "+33612345678", "Salut c'est Karim"),
        sms(30, "+33612345679", "Bonsoir, c'est bien ton numéro ?"),
    )
    assert run(tmp_path, traffic, "--database", str(database))[0] == 0
    exported = tmp_path / "export.jsonl"
    done = CliRunner().invoke(
        cli, ["--database", str(database), "export", "--format", "json", "-o", str(exported)]
    )
    assert done.exit_code == 0, done.stderr
    code, out, _ = run(tmp_path, exported, "--json")
    assert code == 0
    assert json.loads(out)["decisions"] == {"replied": 2}


# --- never the line's own database ----------------------------------------------------------


def test_an_existing_database_is_refused(tmp_path):
    existing = tmp_path / "line.db"
    existing.write_bytes(b"")
    traffic = write(tmp_path / "t.jsonl", sms(0, "+33612345678", "x"))
    code, _, stderr = run(tmp_path, traffic, "--database", str(existing))
    assert code == 2 and "already exists" in stderr


def test_the_configured_database_is_never_touched(tmp_path):
    traffic = write(tmp_path / "t.jsonl", sms(0, "+33612345678", "x"))
    assert run(tmp_path, traffic)[0] == 0
    assert not (tmp_path / "line.db").exists()
