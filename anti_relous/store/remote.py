"""The admin SMS channel's memory: enrolled credentials, the last code step used, failures, lock.

Every method joins the caller's transaction when one is open, so an admin command, the state it
changes, its confirmation and its decision commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anti_relous.numbers import mask
from anti_relous.store.db import Database, from_db, to_db
from anti_relous.store.line import log_event


@dataclass(frozen=True)
class Credential:
    """How one admin number proves itself."""

    number: str
    #: "totp" (an authenticator app's codes) or "pin" (static, weaker).
    kind: str
    #: Base32 TOTP secret, or the PIN's scrypt hash.
    secret: str
    enrolled_at: datetime
    #: The TOTP time step last accepted from this number (a code works once).
    last_step: int | None


def _credential(row: tuple[Any, ...]) -> Credential:
    number, kind, secret, enrolled_at, last_step = row
    return Credential(number, kind, secret, from_db(enrolled_at), last_step)


_COLUMNS = "number, kind, secret, enrolled_at, last_step"


class AdminChannel:
    """Credentials, replay protection, failure counting and the lock of the admin channel."""

    def __init__(self, db: Database):
        self._db = db

    def enroll(self, now: datetime, number: str, kind: str, secret: str) -> bool:
        """Store ``number``'s credential, replacing any previous one; True if one was replaced."""
        with self._db.atomic() as conn:
            replaced = conn.execute(
                "DELETE FROM admin_credentials WHERE number = ?", (number,)
            ).rowcount
            conn.execute(
                f"INSERT INTO admin_credentials ({_COLUMNS}) VALUES (?, ?, ?, ?, NULL)",
                (number, kind, secret, to_db(now)),
            )
            again = "re-enrolled" if replaced else "enrolled"
            log_event(conn, now, "admin_enrolled", f"{mask(number)} {again} ({kind})")
        return bool(replaced)

    def revoke(self, now: datetime, number: str) -> bool:
        """Forget ``number``'s credential; False if it had none."""
        with self._db.atomic() as conn:
            removed = conn.execute(
                "DELETE FROM admin_credentials WHERE number = ?", (number,)
            ).rowcount
            if removed:
                log_event(conn, now, "admin_revoked", f"{mask(number)} revoked")
        return bool(removed)

    def credential(self, number: str) -> Credential | None:
        """``number``'s credential, or None if it never enrolled."""
        with self._db.reading() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM admin_credentials WHERE number = ?", (number,)
            ).fetchone()
        return _credential(row) if row else None

    def credentials(self) -> list[Credential]:
        """Every enrolled number."""
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM admin_credentials ORDER BY number"
            ).fetchall()
        return [_credential(row) for row in rows]

    def use_step(self, number: str, step: int) -> None:
        """Remember the time step of an accepted code: it and older ones no longer work."""
        with self._db.atomic() as conn:
            conn.execute(
                "UPDATE admin_credentials SET last_step = ? WHERE number = ?", (step, number)
            )

    def add_failure(
        self, now: datetime, number: str, message_id: int | None, since: datetime
    ) -> int:
        """Record a wrong or replayed code; returns the failures since ``since`` that count
        towards a lock (none from before the end of the previous lock)."""
        with self._db.atomic() as conn:
            conn.execute(
                "INSERT INTO admin_failures (at, number, message_id) VALUES (?, ?, ?)",
                (to_db(now), number, message_id),
            )
            (previous_end,) = conn.execute(
                "SELECT locked_until FROM admin_channel WHERE id = 1"
            ).fetchone()
            start = max(to_db(since), previous_end or "")
            count: int = conn.execute(
                "SELECT count(*) FROM admin_failures WHERE at > ?", (start,)
            ).fetchone()[0]
        return count

    def lock(self, now: datetime, until: datetime, failures: int) -> None:
        """Refuse every admin command until ``until``."""
        with self._db.atomic() as conn:
            conn.execute(
                "UPDATE admin_channel SET locked_at = ?, locked_until = ? WHERE id = 1",
                (to_db(now), to_db(until)),
            )
            log_event(
                conn,
                now,
                "admin_locked",
                f"admin SMS channel locked until {until.isoformat()} after {failures} wrong codes",
            )

    def locked_until(self, now: datetime) -> datetime | None:
        """The end of the lock in force, or None."""
        with self._db.reading() as conn:
            (until,) = conn.execute(
                "SELECT locked_until FROM admin_channel WHERE id = 1"
            ).fetchone()
        end = from_db(until)
        return end if end is not None and end > now else None

    def sent_since(self, since: datetime) -> int:
        """Admin SMS (confirmations) queued after ``since``: their reserved share's use."""
        with self._db.reading() as conn:
            count: int = conn.execute(
                "SELECT count(*) FROM outbox WHERE kind = 'admin' AND created_at > ?",
                (to_db(since),),
            ).fetchone()[0]
        return count
