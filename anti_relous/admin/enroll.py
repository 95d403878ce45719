"""``anti-relous admin enroll``: give an ``[admin] numbers`` phone its secret for SMS commands.

The secret lives in the database (``admin_credentials``), where the daemon reads it on the next
command: no configuration edit beyond ``[admin] numbers``, no restart, and it works before the
daemon ever ran (the database is created as ``init`` would). A TOTP secret is shown once, as
an ``otpauth://`` URI and a QR code for an authenticator app; a static PIN is only hashed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from anti_relous.admin import AdminError
from anti_relous.admin.provision import create_database
from anti_relous.config import Config
from anti_relous.numbers import normalise
from anti_relous.remote.codes import hash_pin, new_secret, provisioning_uri
from anti_relous.remote.commands import CODE
from anti_relous.store import Credential, Store

#: A static PIN is checked by its digits alone, with no replay protection: at least 6 of them.
MIN_PIN_DIGITS = 6


@dataclass(frozen=True)
class Enrolment:
    """What ``enroll`` did, for the CLI to show."""

    number: str
    kind: str
    #: The TOTP secret (base32) and its otpauth URI; None for a PIN.
    secret: str | None
    uri: str | None
    replaced: bool
    database: Path
    database_created: bool


class NotAnAdmin(AdminError):
    """A number that cannot be enrolled: not a number, or not in ``[admin] numbers``."""

    exit_code = 2


def admin_number(config: Config, typed: str) -> str:
    """``typed`` in E.164, if it is one of ``[admin] numbers``; else NotAnAdmin saying why."""
    number = normalise(typed, config.line.default_region)
    if number is None:
        raise NotAnAdmin(f"{typed!r} is not a valid phone number; write it as +33612345678")
    if number not in config.admin.numbers:
        listed = ", ".join(config.admin.numbers) or "none yet"
        raise NotAnAdmin(
            f"{number} is not in [admin] numbers ({listed}): add it to the configuration "
            "first, so that the daemon obeys its SMS"
        )
    return number


def check_pin(pin: str) -> str:
    """A PIN worth storing: digits only, 6 to 8 of them."""
    if not CODE.fullmatch(pin) or len(pin) < MIN_PIN_DIGITS:
        raise NotAnAdmin(f"a PIN is {MIN_PIN_DIGITS} to 8 digits")
    return pin


def enroll(config: Config, number: str, now: datetime, *, pin: str | None = None) -> Enrolment:
    """Create ``number``'s secret (or store its PIN's hash), replacing any previous one."""
    database = config.storage.database
    created = create_database(database)
    with Store.open(database, create=False) as store:
        if pin is not None:
            replaced = store.remote.enroll(now, number, "pin", hash_pin(check_pin(pin)))
            return Enrolment(number, "pin", None, None, replaced, database, created)
        secret = new_secret()
        replaced = store.remote.enroll(now, number, "totp", secret)
    uri = provisioning_uri(secret, number)
    return Enrolment(number, "totp", secret, uri, replaced, database, created)


def revoke(config: Config, number: str, now: datetime) -> bool:
    """Forget ``number``'s secret: its SMS commands are ignored until it enrolls again."""
    with Store.open(config.storage.database, create=False) as store:
        return store.remote.revoke(now, number)


@dataclass(frozen=True)
class AdminPhone:
    """One admin phone as ``admin list`` shows it."""

    number: str
    #: In ``[admin] numbers``: only those are obeyed, enrolled or not.
    listed: bool
    #: "totp", "pin", or None when not enrolled.
    kind: str | None
    enrolled_at: datetime | None


def admins(store: Store, config: Config) -> list[AdminPhone]:
    """The ``[admin] numbers`` and every enrolled number, with their state."""
    enrolled: dict[str, Credential] = {c.number: c for c in store.remote.credentials()}
    listed = set(config.admin.numbers)
    return [
        AdminPhone(
            number,
            number in listed,
            enrolled[number].kind if number in enrolled else None,
            enrolled[number].enrolled_at if number in enrolled else None,
        )
        for number in sorted(listed | set(enrolled))
    ]


def qr_code(uri: str, *, unicode: bool) -> str:
    """``uri`` as a QR code drawn with text (half blocks, or ``##`` where Unicode cannot show)."""
    import segno

    qr = segno.make(uri, error="m")
    if unicode:
        buffer = io.StringIO()
        qr.terminal(out=buffer, compact=True)
        return buffer.getvalue().rstrip("\n")
    rows = [
        "".join("##" if dark else "  " for dark in row) for row in qr.matrix_iter(scale=1, border=2)
    ]
    return "\n".join(rows)


def grouped(secret: str) -> str:
    """The secret in groups of four, as typed into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
