"""An OpenPGP signature of the pack (``--sign KEY``): gpg signs SHA256SUMS, which lists the rest.

A detached, ASCII-armoured signature (``SHA256SUMS.asc``) made by the operator's own key with
the system's ``gpg``: anyone with the public key checks it with ``gpg --verify SHA256SUMS.asc
SHA256SUMS``, then the files with ``sha256sum -c SHA256SUMS``. Optional: the pack never needs it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from anti_relous.report import ReportError

SIGNATURE = "SHA256SUMS.asc"
#: gpg may ask the agent for the key's passphrase (pinentry): give a person time to type it.
TIMEOUT_S = 300


def sign(sums: Path, signature: Path, key: str) -> None:
    """Write ``signature``, gpg's detached armoured signature of ``sums`` by ``key``."""
    gpg = shutil.which("gpg")
    if gpg is None:
        raise ReportError(
            "--sign needs gpg: install it (`apt-get install gnupg`) or leave --sign out"
        )
    try:
        done = subprocess.run(
            [gpg, "--yes", "--local-user", key, "--armor", "--detach-sign",
             "--output", str(signature), str(sums)],
            capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ReportError(
            f"gpg did not sign within {TIMEOUT_S} s (waiting for a passphrase?)"
        ) from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1] if lines else f"exit status {done.returncode}"
        raise ReportError(
            f"gpg could not sign with the key {key!r}: {why} (list your keys with "
            "`gpg --list-secret-keys`)"
        )
