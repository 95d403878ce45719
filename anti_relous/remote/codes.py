"""The secret behind admin commands: TOTP codes (RFC 6238, as authenticator apps make them) or a
static PIN. Pure: pyotp and hashlib, no store, no clock (times are passed in).

A TOTP code is accepted once: the caller stores the time step it matched, and a code is only
accepted for a later step (RFC 6238 section 5.2), so a replayed or older code fails.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp

#: RFC 6238 as authenticator apps default to: 30 s steps, 6 digits, HMAC-SHA1.
STEP = timedelta(seconds=30)
DIGITS = 6
#: The issuer shown in the authenticator app.
ISSUER = "anti-relous"
#: scrypt parameters for a static PIN (RFC 7914's interactive figures: about 16 MiB, 50 ms).
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def new_secret() -> str:
    """A fresh random TOTP secret, base32 (160 bits, RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app scans (as a QR code) or imports."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator shows at ``moment`` (for tests and for `admin enroll`)."""
    return pyotp.TOTP(secret).at(moment)


def matching_step(
    secret: str, code: str, received_at: datetime, window: timedelta, after_step: int | None
) -> int | None:
    """The latest time step whose code is ``code``, from ``window`` before ``received_at`` to
    one step after it (a phone clock slightly ahead), and later than ``after_step``; or None.

    Every candidate is compared in constant time.
    """
    totp = pyotp.TOTP(secret)
    last = totp.timecode(received_at + STEP)
    first = totp.timecode(received_at - window)
    found = None
    for step in range(last, first - 1, -1):
        if after_step is not None and step <= after_step:
            break
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def hash_pin(pin: str) -> str:
    """A static PIN as stored: ``scrypt$<salt hex>$<hash hex>``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def pin_matches(stored: str, pin: str) -> bool:
    """True when ``pin`` is the PIN ``hash_pin`` stored."""
    scheme, _, rest = stored.partition("$")
    salt_hex, _, digest_hex = rest.partition("$")
    if scheme != "scrypt" or not salt_hex or not digest_hex:
        return False
    digest = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)
