"""The line's switches and memory: pause, flood mode, blocks, the event log and daemon state."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from anti_relous.clock import format_moment
from anti_relous.lazyclass import frozen_dataclass
from anti_relous.policy import Block, LineState
from anti_relous.store.db import Database, from_db, inserted_id, to_db


@frozen_dataclass
class BlockRow:
    """A block as listed for operators."""

    id: int
    target: str
    is_prefix: bool
    created_at: datetime
    until: datetime | None
    reason: str
    automatic: bool

    def as_policy_block(self) -> Block:
        """The view the policy needs."""
        return Block(self.target, self.is_prefix, self.until, self.reason, self.automatic)


@frozen_dataclass
class BlocksInForce:
    """What `status` says of the blocks: numbers blocked, how many automatically, prefixes."""

    numbers: int
    automatic: int
    prefixes: list[str]


@frozen_dataclass
class Event:
    """One entry of the event log."""

    at: datetime
    kind: str
    detail: str


@frozen_dataclass
class AllowRow:
    """A number on the operators' allowlist."""

    number: str
    created_at: datetime
    reason: str


_BLOCK_COLUMNS = "id, target, is_prefix, created_at, until, reason, automatic"


def _block(row: tuple[Any, ...]) -> BlockRow:
    block_id, target, is_prefix, created_at, until, reason, automatic = row
    return BlockRow(
        id=block_id,
        target=target,
        is_prefix=bool(is_prefix),
        created_at=from_db(created_at),
        until=from_db(until),
        reason=reason,
        automatic=bool(automatic),
    )


def _logged_change(
    conn: sqlite3.Connection,
    now: datetime,
    statement: str,
    params: tuple[Any, ...],
    kind: str,
    detail: str,
) -> int:
    """Run ``statement``; if it changed anything, that is an event. Returns the rows changed."""
    changed: int = conn.execute(statement, params).rowcount
    if changed:
        log_event(conn, now, kind, detail)
    return changed


class Line:
    """Reads and changes the line's state; every change is also an event."""

    def __init__(self, db: Database):
        self._db = db

    def state(self) -> LineState:
        """The switches as stored."""
        with self._db.reading() as conn:
            return read_state(conn)

    def pause(self, now: datetime, until: datetime | None, reason: str | None) -> None:
        """Stop replying (inbound SMS are still recorded) until ``resume`` or ``until``."""
        with self._db.atomic() as conn:
            conn.execute(
                "UPDATE line_state SET paused = 1, paused_at = ?, paused_until = ?,"
                " pause_reason = ? WHERE id = 1",
                (to_db(now), to_db(until) if until else None, reason),
            )
            until_text = f" until {format_moment(until)}" if until else ""
            log_event(conn, now, "paused", f"line paused{until_text}: {reason or 'no reason'}")

    def resume(self, now: datetime) -> bool:
        """Reply again. Returns False if the line was not paused."""
        with self._db.atomic() as conn:
            was_paused = read_state(conn).is_paused(now)
            conn.execute(
                "UPDATE line_state SET paused = 0, paused_until = NULL, pause_reason = NULL"
                " WHERE id = 1"
            )
            if was_paused:
                log_event(conn, now, "resumed", "line resumed")
        return was_paused

    def allow(self, now: datetime, number: str, reason: str) -> bool:
        """Put ``number`` on the allowlist; False if it already was."""
        with self._db.atomic() as conn:
            added = _logged_change(
                conn, now,
                "INSERT INTO allowlist (number, created_at, reason) VALUES (?, ?, ?)"
                " ON CONFLICT (number) WHERE removed_at IS NULL DO NOTHING",
                (number, to_db(now), reason),
                "allowed", f"{number} allowlisted: {reason or 'no reason'}",
            )  # fmt: skip
            return bool(added)

    def disallow(self, now: datetime, number: str) -> bool:
        """Take ``number`` off the allowlist; False if it was not on it."""
        with self._db.atomic() as conn:
            removed = _logged_change(
                conn, now,
                "UPDATE allowlist SET removed_at = ? WHERE number = ? AND removed_at IS NULL",
                (to_db(now), number),
                "disallowed", f"{number} taken off the allowlist",
            )  # fmt: skip
            return bool(removed)

    def allowlist(self) -> list[AllowRow]:
        """Numbers on the allowlist, newest first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT number, created_at, reason FROM allowlist WHERE removed_at IS NULL"
                " ORDER BY id DESC"
            ).fetchall()
        return [AllowRow(number, from_db(at), reason) for number, at, reason in rows]

    def attack_periods(
        self, since: datetime | None = None
    ) -> list[tuple[datetime, datetime | None]]:
        """(start, end) of every attack since ``since``, oldest first; end None while it lasts."""
        with self._db.reading() as conn:
            periods = attack_periods(conn)
        cutoff = to_db(since) if since else ""
        return [
            (from_db(start), from_db(end)) for start, end in periods if end is None or end >= cutoff
        ]

    def block_on(self, number: str, now: datetime) -> Block | None:
        """The block in force that covers ``number`` (exactly or by prefix), if any."""
        with self._db.reading() as conn:
            return active_block(conn, number, now)

    def find_block(self, target: str, *, is_prefix: bool, now: datetime) -> BlockRow | None:
        """The block in force on exactly ``target``, if any."""
        with self._db.reading() as conn:
            return find_block(conn, target, is_prefix, now)

    def block(
        self,
        now: datetime,
        target: str,
        *,
        is_prefix: bool,
        until: datetime | None,
        reason: str,
        automatic: bool = False,
    ) -> int:
        """Block a number (E.164 or raw sender) or a prefix; returns the block's id."""
        with self._db.atomic() as conn:
            return add_block(conn, now, target, is_prefix, until, reason, automatic)

    def unblock(self, now: datetime, target: str) -> int:
        """Lift every active block on ``target``; returns how many were lifted."""
        with self._db.atomic() as conn:
            return _logged_change(
                conn, now,
                "UPDATE blocks SET removed_at = ? WHERE target = ? AND removed_at IS NULL",
                (to_db(now), target),
                "unblocked", f"{target} unblocked",
            )  # fmt: skip

    def blocks(self, now: datetime, *, include_expired: bool = False) -> list[BlockRow]:
        """Blocks in force (or all not lifted, with ``include_expired``), newest first."""
        query = f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE removed_at IS NULL"
        params: tuple[str, ...] = ()
        if not include_expired:
            query += " AND (until IS NULL OR until > ?)"
            params = (to_db(now),)
        with self._db.reading() as conn:
            return [_block(r) for r in conn.execute(query + " ORDER BY id DESC", params)]

    def blocks_in_force(self, now: datetime) -> BlocksInForce:
        """Distinct numbers blocked now (and how many automatically), and the prefixes."""
        at = to_db(now)
        active = "removed_at IS NULL AND (until IS NULL OR until > ?)"
        with self._db.reading() as conn:
            numbers, automatic = conn.execute(
                "SELECT count(DISTINCT target), count(DISTINCT CASE WHEN automatic THEN target END)"
                f" FROM blocks WHERE is_prefix = 0 AND {active}",
                (at,),
            ).fetchone()
            prefixes = [
                target
                for (target,) in conn.execute(
                    f"SELECT DISTINCT target FROM blocks WHERE is_prefix = 1 AND {active}"
                    " ORDER BY target",
                    (at,),
                )
            ]
        return BlocksInForce(int(numbers), int(automatic), prefixes)

    def events(self, since: datetime | None = None, limit: int = 100) -> list[Event]:
        """Recent events, newest first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT at, kind, detail FROM events WHERE at >= ? ORDER BY id DESC LIMIT ?",
                (to_db(since) if since else "", limit),
            ).fetchall()
        return [Event(from_db(at), kind, detail) for at, kind, detail in rows]

    def periods(
        self, start_kind: str, end_kind: str, since: datetime | None = None
    ) -> list[tuple[datetime, datetime | None]]:
        """(start, end) of each period the event log opens with ``start_kind`` and closes with
        ``end_kind`` (``flood_start``/``flood_end``), oldest first; end None while it lasts."""
        periods: list[tuple[datetime, datetime | None]] = []
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT at, kind FROM events WHERE kind IN (?, ?) AND at >= ? ORDER BY id",
                (start_kind, end_kind, to_db(since) if since else ""),
            ).fetchall()
        for at, kind in rows:
            moment = from_db(at)
            if kind == start_kind:
                if not periods or periods[-1][1] is not None:
                    periods.append((moment, None))
            elif periods and periods[-1][1] is None:
                periods[-1] = (periods[-1][0], moment)
        return periods

    def log(self, now: datetime, kind: str, detail: str) -> None:
        """Record an event outside any other change."""
        with self._db.atomic() as conn:
            log_event(conn, now, kind, detail)

    def put_daemon_state(self, now: datetime, key: str, value: Any) -> None:
        """Publish what the daemon sees (modem health, its state) for `anti-relous status`."""
        with self._db.atomic() as conn:
            conn.execute(
                "INSERT INTO daemon_state (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (key, json.dumps(value), to_db(now)),
            )

    def clear_daemon_state(self, key: str) -> None:
        """Withdraw a published value (absent already is fine)."""
        with self._db.atomic() as conn:
            conn.execute("DELETE FROM daemon_state WHERE key = ?", (key,))

    def daemon_state(self, key: str) -> tuple[Any, datetime] | None:
        """A published value and when it was published, or None."""
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT value, updated_at FROM daemon_state WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        value, updated_at = row
        return json.loads(value), from_db(updated_at)


def read_state(conn: sqlite3.Connection) -> LineState:
    """The line_state row as the policy's LineState."""
    row = conn.execute(
        "SELECT paused, paused_until, pause_reason, flood_since, flood_last_above,"
        " attack_since, attack_last_above, attack_ended_at, pace_tokens, pace_at, people_tokens,"
        " people_at"
        " FROM line_state WHERE id = 1"
    ).fetchone()
    (paused, paused_until, pause_reason, flood_since, flood_last_above,
     attack_since, attack_last_above, attack_ended_at, pace_tokens, pace_at, people_tokens,
     people_at) = row  # fmt: skip
    return LineState(
        paused=bool(paused),
        paused_until=from_db(paused_until),
        pause_reason=pause_reason,
        flood_since=from_db(flood_since),
        flood_last_above=from_db(flood_last_above),
        attack_since=from_db(attack_since),
        attack_last_above=from_db(attack_last_above),
        attack_ended_at=from_db(attack_ended_at),
        pace_tokens=pace_tokens,
        pace_at=from_db(pace_at),
        people_tokens=people_tokens,
        people_at=from_db(people_at),
    )


def attack_periods(conn: sqlite3.Connection) -> list[tuple[str, str | None]]:
    """(start, end) of every attack, oldest first, as stored texts; end None while it lasts."""
    periods: list[tuple[str, str | None]] = []
    for at, kind in conn.execute(
        "SELECT at, kind FROM events WHERE kind IN ('attack_start', 'attack_end') ORDER BY id"
    ):
        if kind == "attack_start":
            if not periods or periods[-1][1] is not None:
                periods.append((at, None))
        elif periods and periods[-1][1] is None:
            periods[-1] = (periods[-1][0], at)
    return periods


def within(periods: list[tuple[str, str | None]], at: str) -> bool:
    """Whether the stored time ``at`` falls inside one of ``periods``."""
    return any(start <= at and (end is None or at < end) for start, end in periods)


def active_block(conn: sqlite3.Connection, sender: str, now: datetime) -> Block | None:
    """The longest-lasting active block matching ``sender`` exactly or by prefix."""
    at = to_db(now)
    order = " ORDER BY until IS NULL DESC, until DESC LIMIT 1"
    row = conn.execute(
        f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE target = ? AND is_prefix = 0"
        f" AND removed_at IS NULL AND (until IS NULL OR until > ?){order}",
        (sender, at),
    ).fetchone()
    if row is None:
        row = conn.execute(
            f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE is_prefix = 1"
            " AND removed_at IS NULL AND (until IS NULL OR until > ?)"
            f" AND substr(?, 1, length(target)) = target{order}",
            (at, sender),
        ).fetchone()
    return _block(row).as_policy_block() if row else None


def add_block(
    conn: sqlite3.Connection,
    now: datetime,
    target: str,
    is_prefix: bool,
    until: datetime | None,
    reason: str,
    automatic: bool,
) -> int:
    """Block ``target`` and log it; returns the block's id.

    A block already in force on the same target is updated (end, reason, and manual once an
    operator blocked it by hand) rather than doubled: ``blocks`` lists one row per target.
    """
    how = "automatic" if automatic else "manual"
    what = "prefix" if is_prefix else "number"
    until_text = format_moment(until) if until else "no end"
    existing = find_block(conn, target, is_prefix, now)
    if existing is not None:
        conn.execute(
            "UPDATE blocks SET until = ?, reason = ?, automatic = ? WHERE id = ?",
            (
                to_db(until) if until else None,
                reason,
                int(automatic and existing.automatic),
                existing.id,
            ),
        )
        log_event(
            conn,
            now,
            "blocked",
            f"{how} block of {what} {target} updated: until {until_text}: {reason}",
        )
        return existing.id
    cursor = conn.execute(
        "INSERT INTO blocks (target, is_prefix, created_at, until, reason, automatic)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (target, int(is_prefix), to_db(now), to_db(until) if until else None, reason, automatic),
    )
    log_event(conn, now, "blocked", f"{how} block of {what} {target} until {until_text}: {reason}")
    return inserted_id(cursor)


def find_block(
    conn: sqlite3.Connection, target: str, is_prefix: bool, now: datetime
) -> BlockRow | None:
    """The block in force on exactly ``target`` (as a number or as a prefix), if any."""
    row = conn.execute(
        f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE target = ? AND is_prefix = ?"
        " AND removed_at IS NULL AND (until IS NULL OR until > ?) ORDER BY id LIMIT 1",
        (target, int(is_prefix), to_db(now)),
    ).fetchone()
    return _block(row) if row else None


def log_event(conn: sqlite3.Connection, now: datetime, kind: str, detail: str) -> None:
    """Append to the event log inside the caller's transaction."""
    conn.execute(
        "INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)", (to_db(now), kind, detail)
    )
