"""Policy/store benchmark: decide-and-record latency and durable ingest throughput on a big history.

Issue 2's targets, on the real store file through the public API:

* decide-and-record, per inbound message, p99 <= 1 ms: ``deciding.decide_message`` (the daemon's
  own code: usage, policy, record) committed, measured two ways: one transaction per message
  (decision and commit timed apart), and ``deciding.decide_pending`` on a poll's worth of messages;
* ``store.inbound.ingest`` in batches of 30 parts, ``synchronous=FULL``: >= 2,000 messages/s.

The history (default 1,000,000 known senders and 5,000,000 messages over six months, with their
parts and decisions; 90 replies a day to 140 regular correspondents a month, near the monthly
cap; weekly auto-blocks of 1,000 bots, most expired; a few manual and prefix blocks) is
bulk-filled with SQL in large transactions: that is set-up, not measurement. Its rows carry
placeholder chain and content hashes, so the benchmark database must never be ``verify``-ed; only
the messages the benchmark ingests chain correctly (onto a placeholder). The filled database
(about 4 GB, 1.5 minutes on the 2-core box) is cached by sizes, schema and fill version under
``--cache-dir`` and copied (then flushed) for each run, so re-runs skip the fill.

WAL auto-checkpoints happen where they fall, inside whichever commit crosses the threshold, as
in the daemon: they are the slowest samples (``slowest`` lists them, ``commits_over_1ms`` counts
them). Other processes on the box move the tails: the load average is recorded, and the
single-message and ingest figures come with the thread's CPU time for the same samples.

The measured traffic is made of real PDUs from ``pdu.encode_deliver`` decoded by
``pdu.decode_stored`` (encoding happens before the clock starts): short GSM-7 and UCS-2 texts,
two-part long SMS, senders known and new, bots, foreign, fixed-line, short-code and alphanumeric.

    .venv/bin/python benchmarks/policy_store.py          # full size; the first run fills the cache
    .venv/bin/python benchmarks/policy_store.py --quick  # seconds, small history
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from anti_relous.config import parse_config
from anti_relous.deciding import Texts, decide_message, decide_pending
from anti_relous.modem import pdu
from anti_relous.policy import Decision, Rules
from anti_relous.sms import InboundSms, ReceivedPart
from anti_relous.store import LATEST_VERSION, Store
from anti_relous.store.db import to_db

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "policy_store.json"
DEFAULT_CACHE = Path("/tmp/anti-relous-bench")
#: Bump when the fill below changes, so cached databases from an older fill are not reused.
FILL_VERSION = 2

REGION = "FR"
#: The measured traffic starts here; the history ends just before, so the windows hold history.
NOW0 = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
HISTORY_DAYS = 180
HISTORY_END = NOW0 - timedelta(minutes=15)
#: [storage] retention default: older texts and PDUs were purged, as the daemon would have.
RETENTION = timedelta(days=90)
#: Replies per day in the history: under replies_per_day (300) and replies_per_month (3000).
REPLIES_PER_DAY = 90
#: Each month's replies go to this many regular correspondents, under recipients_per_month (150).
REGULARS_PER_MONTH = 140
#: One bot per this many senders sends 30% of the history (after every sender's first message).
SENDERS_PER_BOT = 1000
BATCH_PARTS = 30
#: Poll spacing of the measured traffic: 30 parts per 2 minutes stays under the flood threshold
#: (200 in 10 minutes), so replies, quotas, caps and blocks are all exercised.
POLL_SPACING = timedelta(minutes=2)
FILL_CHUNK = 250_000
ALERT_NUMBER = "+33611111111"
CONFIG = parse_config(f'[alerts]\nnumbers = ["{ALERT_NUMBER}"]\n')
TARGET_DECIDE_P99_MS = 1.0
TARGET_INGEST_MESSAGES_PER_S = 2000.0

SHORT_TEXTS = [
    "salut",
    "t'es où ?",
    "réponds",
    "pourquoi tu réponds pas",
    "je t'ai vue hier soir",
    "ok",
    "allo",
]
UCS2_TEXTS = ["ça va ?", "tu vas répondre à ça ?", "garçon ou fille ?"]
LONG_TEXT = (
    "Je sais que tu lis mes messages alors réponds moi au lieu de faire semblant, je vais "
    "continuer a t'ecrire tous les jours jusqu'a ce que tu me repondes, tu ne pourras pas "
    "m'ignorer eternellement"
)
OTHER_SENDERS = ["PROMO", "36179", "+32470123456", "+33145678901", "+33899123456"]


def sender_number(k: int) -> str:
    """Known sender number ``k``: a valid French mobile, +33 61 followed by seven digits."""
    return f"+3361{k:07d}"


# --- the history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """The parameters of a history, shared by the SQL fill and the traffic generator."""

    senders: int
    messages: int

    @property
    def start_s(self) -> float:
        return (NOW0 - timedelta(days=HISTORY_DAYS)).timestamp()

    @property
    def step_s(self) -> float:
        return (HISTORY_END.timestamp() - self.start_s) / self.messages

    @property
    def reply_every(self) -> int:
        # At most one message in ten answered, so small (--quick) histories stay plausible.
        return max(10, math.ceil(self.messages / (HISTORY_DAYS * REPLIES_PER_DAY)))

    @property
    def bots(self) -> int:
        return max(1, self.senders // SENDERS_PER_BOT)

    @property
    def spread(self) -> int:
        """A multiplier coprime with ``senders``: i -> i * spread % senders is a permutation."""
        candidate = 7_368_787
        while math.gcd(candidate, self.senders) != 1:
            candidate += 1
        return candidate

    def bot(self, b: int) -> int:
        return b * (self.senders // self.bots)

    def regular(self, month_index: int, slot: int) -> int:
        """The ``slot``-th regular correspondent of month ``year * 12 + month``."""
        return (month_index * REGULARS_PER_MONTH + slot) * 7919 % self.senders


_MONTH_INDEX = (
    "(CAST(strftime('%Y', ts, 'unixepoch') AS INTEGER) * 12"
    " + CAST(strftime('%m', ts, 'unixepoch') AS INTEGER))"
)
# Each message's sender: a month's regular if it was answered, a bot for 30% of the traffic once
# every sender has had a first message, otherwise a permutation of the known senders.
_FILL_MESSAGES = f"""
INSERT INTO messages (id, received_at, kind, sender_raw, sender, sender_e164, sender_kind,
    sender_region, smsc_time, parts, parts_expected, text, text_sha256, purged_at, prev_hash,
    chain_hash, campaign_id)
WITH RECURSIVE ids(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM ids WHERE i < :hi),
timed AS (SELECT i, :start + (i - 1) * :step AS ts FROM ids),
who AS (
    SELECT i, ts, CASE
        WHEN i % :reply_every = 0
            THEN ({_MONTH_INDEX} * :regulars + (i / :reply_every) % :regulars) * 7919 % :senders
        WHEN i > :senders AND i % 10 < 3 THEN (i * 7919 % :bots) * (:senders / :bots)
        ELSE i * :spread % :senders
    END AS k FROM timed
)
SELECT i, strftime('%Y-%m-%dT%H:%M:%f', ts, 'unixepoch') || '000Z', 'sms',
    printf('+3361%07d', k), printf('+3361%07d', k), printf('+3361%07d', k), 'mobile', 'FR',
    strftime('%Y-%m-%dT%H:%M:%S+00:00', ts - 20, 'unixepoch'), 1, 1,
    CASE WHEN ts < :purge_before THEN NULL ELSE 'message ' || i END,
    printf('%064x', i * 31), CASE WHEN ts < :purge_before THEN :purged_at END,
    printf('%064x', i - 1), printf('%064x', i), i % :campaigns + 1
FROM who
"""
_FILL_PARTS = """
INSERT INTO inbound_parts (id, received_at, sim_storage, sim_index, pdu, pdu_sha256, kind,
    sender_raw, smsc_time, coding, text, message_id)
SELECT id, received_at, 'SM', id % 30, CASE WHEN text IS NULL THEN NULL ELSE randomblob(48) END,
    printf('%064x', id * 17), 'deliver', sender_raw, smsc_time, 'gsm7', text, id
FROM messages WHERE id BETWEEN :lo AND :hi
"""
_FILL_DECISIONS = """
INSERT INTO decisions (message_id, decided_at, reply, reason, detail)
SELECT id, received_at, id % :reply_every = 0, CASE
        WHEN id % :reply_every = 0 THEN 'replied'
        WHEN id > :senders AND id % 10 < 3 THEN 'blocked'
        WHEN id % 7 = 0 THEN 'flood'
        WHEN id % 13 = 0 THEN 'recipients_cap'
        ELSE 'number_quota'
    END, 'history filled by benchmarks/policy_store.py'
FROM messages WHERE id BETWEEN :lo AND :hi
"""
_FILL_OUTBOX = """
INSERT INTO outbox (created_at, kind, message_id, recipient, text, parts, state, attempts,
    message_refs, updated_at, sent_at)
SELECT received_at, 'reply', id, sender, :text, :parts, 'sent', 1, '[' || (id % 256) || ']',
    received_at, received_at
FROM messages WHERE id % :reply_every = 0 ORDER BY id
"""
#: Every message joins one of a few thousand campaigns (most of them one text long in reality;
#: here spread evenly, which makes every campaign's sender count larger: a worse case).
HISTORY_CAMPAIGNS = 2000
_FILL_CAMPAIGNS = """
INSERT INTO campaigns (id, representative, text, short, first_at, last_at, messages)
SELECT campaign_id, 'message ' || campaign_id, 'message ' || campaign_id, 0,
    min(received_at), max(received_at), count(*)
FROM messages GROUP BY campaign_id
"""
_FILL_CAMPAIGN_SENDERS = """
INSERT INTO campaign_senders (campaign_id, sender, last_at)
SELECT campaign_id, sender, max(received_at) FROM messages GROUP BY campaign_id, sender
"""
_FILL_SENDERS = """
INSERT INTO senders (sender, first_at, last_at, min_gap_s, arrivals, number_block, mobile)
SELECT sender, min(received_at), max(received_at), 3600, count(*), substr(sender, 1, 8), 1
FROM messages GROUP BY sender
"""
_FILL_RECIPIENTS = """
INSERT OR IGNORE INTO monthly_recipients (month, recipient)
SELECT substr(created_at, 1, 7), recipient FROM outbox
"""
_PREFIX_BLOCKS = ["+33899", "+33897", "+882", "+4479"]


def fill(path: Path, shape: Shape, texts: Texts) -> dict[str, object]:
    """Create the history at ``path`` with bulk SQL; returns what was written."""
    started = time.perf_counter()
    with Store.open(path) as store:
        conn = store.db.conn
        # Set-up only: no fsync, a big cache, and indexes built once at the end (sorting beats
        # five million random B-tree inserts).
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1000000")
        conn.execute("PRAGMA foreign_keys = OFF")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        params = {
            "start": shape.start_s,
            "step": shape.step_s,
            "reply_every": shape.reply_every,
            "regulars": REGULARS_PER_MONTH,
            "senders": shape.senders,
            "bots": shape.bots,
            "spread": shape.spread,
            "purge_before": (NOW0 - RETENTION).timestamp(),
            "purged_at": to_db(NOW0 - timedelta(days=1)),
            "campaigns": HISTORY_CAMPAIGNS,
        }
        for lo in range(1, shape.messages + 1, FILL_CHUNK):
            hi = min(lo + FILL_CHUNK - 1, shape.messages)
            conn.execute("BEGIN")
            conn.execute(_FILL_MESSAGES, {**params, "lo": lo, "hi": hi})
            conn.execute(_FILL_PARTS, {"lo": lo, "hi": hi})
            conn.execute(_FILL_DECISIONS, {**params, "lo": lo, "hi": hi})
            conn.execute("COMMIT")
            _progress(f"filled {hi:,}/{shape.messages:,} messages")
        conn.execute("BEGIN")
        conn.execute(
            _FILL_OUTBOX,
            {"text": texts.reply, "parts": texts.reply_parts, "reply_every": shape.reply_every},
        )
        conn.execute(_FILL_RECIPIENTS)
        for statement in (_FILL_CAMPAIGNS, _FILL_CAMPAIGN_SENDERS, _FILL_SENDERS):
            conn.execute(statement)
        blocks = _fill_blocks(conn, shape)
        conn.execute("COMMIT")
        for name, sql in indexes:
            _progress(f"indexing {name}")
            conn.execute(sql)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "messages",
                "inbound_parts",
                "decisions",
                "outbox",
                "blocks",
                "events",
                "senders",
                "campaigns",
                "campaign_senders",
            )
        }
    return {
        "senders": shape.senders,
        "rows": counts,
        "history_days": HISTORY_DAYS,
        "active_blocks_at_start": blocks,
        "fill_s": round(time.perf_counter() - started, 1),
    }


def _fill_blocks(conn: sqlite3.Connection, shape: Shape) -> int:
    """Bot auto-blocks every week (most expired), manual number and prefix blocks, their events."""
    rows: list[tuple[str, int, datetime, datetime | None, str, int]] = []
    week = timedelta(days=7)
    for b in range(shape.bots):
        start = NOW0 - timedelta(days=HISTORY_DAYS) + timedelta(minutes=b % 1440)
        while start < HISTORY_END:
            rows.append((sender_number(shape.bot(b)), 0, start, start + week, "21 SMS in 1h", 1))
            start += week
    rng = random.Random(7)
    for _ in range(30):
        k = rng.randrange(shape.senders)
        rows.append((sender_number(k), 0, NOW0 - timedelta(days=30), None, "threats", 0))
    for prefix in _PREFIX_BLOCKS:
        rows.append((prefix, 1, NOW0 - timedelta(days=60), None, "premium-rate range", 0))
    rows.sort(key=lambda r: r[2])
    conn.executemany(
        "INSERT INTO blocks (target, is_prefix, created_at, until, reason, automatic)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(t, p, to_db(c), to_db(u) if u else None, r, a) for t, p, c, u, r, a in rows],
    )
    conn.executemany(
        "INSERT INTO events (at, kind, detail) VALUES (?, 'blocked', ?)",
        [(to_db(c), f"block of {t}: {r}") for t, _, c, _, r, _ in rows],
    )
    return sum(1 for _, _, c, u, _, _ in rows if c <= NOW0 and (u is None or u > NOW0))


def cached_history(cache_dir: Path, shape: Shape, texts: Texts, rebuild: bool) -> Path:
    """The filled database for ``shape``, filled now unless a cached one exists."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"policy_store-s{shape.senders}-m{shape.messages}-schema{LATEST_VERSION}-f{FILL_VERSION}"
    path = cache_dir / f"{stem}.db"
    info = cache_dir / f"{stem}.json"
    for stale in cache_dir.glob(f"policy_store-s{shape.senders}-m{shape.messages}-*"):
        if not stale.name.startswith(f"{stem}."):  # another schema or fill version
            stale.unlink()
    if rebuild or not (path.exists() and info.exists()):
        partial = cache_dir / f"{stem}.filling.db"
        _remove_db(partial)
        _progress(f"filling {path} (once; later runs reuse it)")
        facts = fill(partial, shape, texts)
        _remove_db(path)
        partial.rename(path)  # an interrupted fill never looks like a cached one
        info.write_text(json.dumps(facts, indent=2))
    return path


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- the measured traffic -------------------------------------------------------------------


def traffic(shape: Shape, total_parts: int, seed: int = 1) -> list[list[ReceivedPart]]:
    """Polls of ``BATCH_PARTS`` real decoded PDUs; a long SMS may straddle two polls."""
    rng = random.Random(seed)
    month = NOW0.year * 12 + NOW0.month
    hammer = "+33629999999"  # one new sender writing every poll: it gets auto-blocked
    new_senders = iter(range(1, 10_000_000))
    encoded: list[bytes] = []
    poll_of: list[int] = []
    while len(encoded) < total_parts:
        poll = len(encoded) // BATCH_PARTS
        roll = rng.random()
        if len(encoded) % BATCH_PARTS == 0:
            sender = hammer
        elif roll < 0.70:
            sender = sender_number(rng.randrange(shape.senders))
        elif roll < 0.80:
            sender = sender_number(shape.bot(rng.randrange(shape.bots)))
        elif roll < 0.90:
            sender = f"+3362{next(new_senders):07d}"
        elif roll < 0.95:
            sender = sender_number(shape.regular(month, rng.randrange(REGULARS_PER_MONTH)))
        else:
            sender = rng.choice(OTHER_SENDERS)
        kind = rng.random()
        if kind < 0.05:
            text = LONG_TEXT
        elif kind < 0.15:
            text = rng.choice(UCS2_TEXTS)
        else:
            text = rng.choice(SHORT_TEXTS)
        smsc_time = NOW0 + poll * POLL_SPACING - timedelta(seconds=rng.randrange(5, 100))
        for raw in pdu.encode_deliver(sender, text, smsc_time, reference=rng.randrange(256)):
            encoded.append(raw)
            poll_of.append(poll)
    batches: list[list[ReceivedPart]] = []
    for start in range(0, len(encoded), BATCH_PARTS):
        chunk = encoded[start : start + BATCH_PARTS]
        batches.append(
            [pdu.decode_stored("SM", index, raw, unread=True) for index, raw in enumerate(chunk)]
        )
    return batches


# --- measurement ----------------------------------------------------------------------------


@dataclass
class Samples:
    """Nanosecond samples of the measured steps.

    ``*_cpu`` are the thread's CPU time for the same samples: a sample whose wall time is far
    above its CPU time waited (for the disk, or for a core other processes held).
    """

    ingest: list[int] = field(default_factory=list)
    ingest_cpu: list[int] = field(default_factory=list)
    ingest_parts: int = 0
    ingest_messages: int = 0
    confirm: list[int] = field(default_factory=list)
    single: list[int] = field(default_factory=list)
    single_cpu: list[int] = field(default_factory=list)
    steps: dict[str, list[int]] = field(
        default_factory=lambda: {"decide_message": [], "commit": []}
    )
    #: (wall time, messages decided) per decide_pending call.
    batched_calls: list[tuple[int, int]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)


def decide_one(store: Store, message: InboundSms, rules: Rules, texts: Texts, now: datetime,
               samples: Samples) -> Decision:  # fmt: skip
    """``deciding.decide_message`` (the daemon's own code) in its own transaction, timed: the
    decision (usage, policy, record) and the commit."""
    c0 = time.thread_time_ns()
    t0 = time.perf_counter_ns()
    with store.transaction():
        decision = decide_message(store, message, rules, texts, now)
        t1 = time.perf_counter_ns()
    t2 = time.perf_counter_ns()
    samples.single_cpu.append(time.thread_time_ns() - c0)
    samples.single.append(t2 - t0)
    for step, spent in zip(samples.steps, (t1 - t0, t2 - t1), strict=True):
        samples.steps[step].append(spent)
    return decision


def measure(store: Store, batches: list[list[ReceivedPart]], rules: Rules, texts: Texts) -> Samples:
    """Poll by poll: ingest (durable), confirm the deletes, then decide.

    Even polls decide one message per transaction, odd polls call ``decide_pending`` once, so
    both modes see the same history growing at the same pace.
    """
    samples = Samples()
    for poll, batch in enumerate(batches):
        now = NOW0 + poll * POLL_SPACING
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        result = store.inbound.ingest(batch, now, REGION)
        t1 = time.perf_counter_ns()
        samples.ingest_cpu.append(time.thread_time_ns() - c0)
        store.inbound.confirm_deleted(result.committed)
        samples.confirm.append(time.perf_counter_ns() - t1)
        samples.ingest.append(t1 - t0)
        samples.ingest_parts += len(batch)
        samples.ingest_messages += result.new_messages
        if poll % 2 == 0:
            for message in store.inbound.undecided(now):
                decision = decide_one(store, message, rules, texts, now, samples)
                samples.reasons[decision.reason.value] += 1
        else:
            t2 = time.perf_counter_ns()
            decided = decide_pending(store, rules, texts, now)
            t3 = time.perf_counter_ns()
            if decided:
                samples.batched_calls.append((t3 - t2, len(decided)))
            samples.reasons.update(d.reason.value for _, d in decided)
    if store.inbound.undecided(limit=1):
        raise RuntimeError("some measured messages were left undecided")
    return samples


# --- figures --------------------------------------------------------------------------------


def percentile(values: list[int] | list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def _ms(ns: float) -> float:
    return round(ns / 1e6, 4)


def latency(values: list[int]) -> dict[str, Any]:
    """p50/p99/max/mean in milliseconds of nanosecond samples."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": _ms(percentile(values, 50)),
        "p99_ms": _ms(percentile(values, 99)),
        "max_ms": _ms(max(values)),
        "mean_ms": _ms(sum(values) / len(values)),
        # Which samples (in measurement order) were slowest, to tell one-off stalls from a trend.
        "slowest": [[i, _ms(v)] for i, v in sorted(enumerate(values), key=lambda s: -s[1])[:5]],
    }


def figures(samples: Samples) -> dict[str, object]:
    """The JSON sections for decide (single, batched) and ingest."""
    per_message = [ns / n for ns, n in samples.batched_calls]
    batched_messages = sum(n for _, n in samples.batched_calls)
    batched_ns = sum(ns for ns, _ in samples.batched_calls)
    ingest_s = sum(samples.ingest) / 1e9
    return {
        "decide_single": {
            "what": "usage + decide + record + COMMIT, one transaction per message",
            **latency(samples.single),
            "over_1ms": sum(1 for ns in samples.single if ns > 1_000_000),
            "commits_over_1ms": sum(1 for ns in samples.steps["commit"] if ns > 1_000_000),
            "cpu": latency(samples.single_cpu),
            "steps": {step: latency(values) for step, values in samples.steps.items()},
        },
        "decide_batched": {
            "what": "deciding.decide_pending: one transaction for a poll's messages",
            "calls": len(samples.batched_calls),
            "messages": batched_messages,
            "per_message_mean_ms": _ms(batched_ns / batched_messages) if batched_messages else None,
            "per_message_p50_ms": _ms(percentile(per_message, 50)) if per_message else None,
            "per_message_p99_ms": _ms(percentile(per_message, 99)) if per_message else None,
            "per_call": latency([ns for ns, _ in samples.batched_calls]),
        },
        "ingest": {
            "what": "store.inbound.ingest, one durable (synchronous=FULL) transaction per batch",
            "batch_parts": BATCH_PARTS,
            "batches": len(samples.ingest),
            "parts": samples.ingest_parts,
            "messages": samples.ingest_messages,
            "parts_per_s": round(samples.ingest_parts / ingest_s, 1),
            "messages_per_s": round(samples.ingest_messages / ingest_s, 1),
            "per_batch": latency(samples.ingest),
            "per_batch_cpu": latency(samples.ingest_cpu),
            "confirm_deleted_per_batch": latency(samples.confirm),
        },
    }


def disk_facts(path: Path) -> dict[str, object]:
    """Where the database lives and what an fsync costs there (the floor of a durable commit)."""
    df = subprocess.run(["df", "-hPT", str(path)], capture_output=True, text=True, check=False)
    probe = path / ".fsync-probe"
    timings = []
    fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        for _ in range(200):
            os.write(fd, b"\0" * 4096)
            start = time.perf_counter_ns()
            os.fsync(fd)
            timings.append(time.perf_counter_ns() - start)
    finally:
        os.close(fd)
        probe.unlink()
    return {
        "directory": str(path),
        "df": df.stdout.strip().splitlines(),
        "fsync_4k_p50_ms": _ms(percentile(timings, 50)),
        "fsync_4k_p99_ms": _ms(percentile(timings, 99)),
    }


def print_table(report: dict[str, Any]) -> None:
    """The figures an engineer reads first."""
    single, batched, ingest = report["decide_single"], report["decide_batched"], report["ingest"]
    history, targets, disk = report["history"], report["targets"], report["disk"]
    steps = single["steps"]
    rows = [
        ("history", f"{history['senders']:,} senders, {history['rows']['messages']:,} messages"),
        ("decide_single p50/p99/max ms",
         f"{single['p50_ms']} / {single['p99_ms']} / {single['max_ms']}  (n={single['count']})"),
        ("  its CPU time p50/p99 ms", f"{single['cpu']['p50_ms']} / {single['cpu']['p99_ms']}"),
        *[(f"  {step} p50/p99 ms", f"{steps[step]['p50_ms']} / {steps[step]['p99_ms']}")
          for step in steps],
        ("decide_batched per message mean/p50/p99 ms",
         f"{batched['per_message_mean_ms']} / {batched['per_message_p50_ms']} / "
         f"{batched['per_message_p99_ms']}  (n={batched['messages']}, {batched['calls']} calls)"),
        ("decide_batched per call p50/p99 ms",
         f"{batched['per_call']['p50_ms']} / {batched['per_call']['p99_ms']}"),
        ("ingest messages/s (parts/s)", f"{ingest['messages_per_s']} ({ingest['parts_per_s']})"),
        ("ingest per batch of 30 p50/p99/max ms",
         f"{ingest['per_batch']['p50_ms']} / {ingest['per_batch']['p99_ms']} / "
         f"{ingest['per_batch']['max_ms']}"),
        ("  its CPU time p50/p99 ms",
         f"{ingest['per_batch_cpu']['p50_ms']} / {ingest['per_batch_cpu']['p99_ms']}"),
        ("decide_single p99 <= 1 ms", "met" if targets["decide_p99_met"] else "MISSED"),
        ("ingest >= 2000 msg/s", "met" if targets["ingest_met"] else "MISSED"),
        ("load average before/after", f"{report['load_average']['before']} / "
         f"{report['load_average']['after']}"),
        ("fsync of 4 KiB p50/p99 ms", f"{disk['fsync_4k_p50_ms']} / {disk['fsync_4k_p99_ms']}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print("reasons:", ", ".join(f"{k}={v}" for k, v in report["reasons"].items()))
    for line in disk["df"]:
        print("disk:", line)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=1_000_000, help="known senders")
    parser.add_argument("--messages", type=int, default=5_000_000, help="stored messages")
    parser.add_argument("--parts", type=int, default=30_000, help="measured parts to ingest")
    parser.add_argument("--quick", action="store_true", help="small sizes: finishes in seconds")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--rebuild", action="store_true", help="fill the history again")
    parser.add_argument("--keep", action="store_true", help="keep the measured copy of the DB")
    args = parser.parse_args(argv)
    if args.quick:
        args.senders, args.messages, args.parts = 2_000, 10_000, 600
    if not 0 < args.senders <= 9_999_999 or args.messages < 1 or args.parts < BATCH_PARTS:
        parser.error("need 0 < --senders < 10,000,000, --messages >= 1, --parts >= 30")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Like the daemon: replies log at INFO, so formatting them is part of the cost.
    logging.basicConfig(level=logging.INFO, handlers=[logging.FileHandler(os.devnull)])
    shape = Shape(args.senders, args.messages)
    rules = Rules.from_config(CONFIG)
    texts = Texts.from_config(CONFIG)
    cached = cached_history(args.cache_dir, shape, texts, args.rebuild)
    history = json.loads(cached.with_suffix(".json").read_text())
    _progress("encoding the measured traffic")
    batches = traffic(shape, args.parts)
    work = args.cache_dir / "policy_store-work.db"
    _remove_db(work)
    shutil.copyfile(cached, work)
    # Flush the copy now: otherwise the first checkpoint's fsync writes back gigabytes of
    # freshly copied pages and one ingest takes a second, which a running line never sees.
    fd = os.open(work, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _progress(f"measuring on {work}")
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        with Store.open(work) as store:
            samples = measure(store, batches, rules, texts)
    finally:
        if not args.keep:
            _remove_db(work)
    load_after = [round(x, 2) for x in os.getloadavg()]
    report: dict[str, Any] = {
        "benchmark": "policy_store",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
        },
        # Other work on the box competes for its two cores: the tails move with it.
        "load_average": {"before": load_before, "after": load_after},
        "history": {**history, "cache": str(cached)},
        **figures(samples),
        "reasons": dict(samples.reasons.most_common()),
        "disk": disk_facts(args.cache_dir),
    }
    report["targets"] = {
        "decide_p99_ms": TARGET_DECIDE_P99_MS,
        "decide_p99_met": report["decide_single"]["p99_ms"] <= TARGET_DECIDE_P99_MS,
        "ingest_messages_per_s": TARGET_INGEST_MESSAGES_PER_S,
        "ingest_met": report["ingest"]["messages_per_s"] >= TARGET_INGEST_MESSAGES_PER_S,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"JSON: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
