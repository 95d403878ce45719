"""The `anti-relous` command line: thin click commands over the store, the service and the modem.

Each command's docstring is its help, with an example (README.md lists every command; a test
checks both). Errors the package raises on purpose end a command with one line on stderr and
their exit code: 1 operational, 2 usage or configuration. Only what a command needs is imported:
its module when it runs (``AntiRelousGroup.lazy_commands``), heavy libraries (gammu,
apscheduler, the modem drivers, phonenumbers) inside the commands that use them.
"""

from __future__ import annotations

import importlib
from typing import Any

from anti_relous.cli.base import OUTBOX_STATES, REASONS, cli

#: Where each command is defined; tests/test_cli.py checks this against the modules.
cli.lazy_commands.update(
    {
        **dict.fromkeys(["demo", "doctor", "init", "run", "simulate"], "anti_relous.cli.running"),
        **dict.fromkeys(
            ["allow", "block", "disallow", "pause", "resume", "send", "unblock"],
            "anti_relous.cli.steering",
        ),
        **dict.fromkeys(
            ["blocks", "inbox", "outbox", "stats", "status"], "anti_relous.cli.watching"
        ),
        **dict.fromkeys(["export", "verify"], "anti_relous.cli.evidence"),
        "admin": "anti_relous.cli.phone",
        "report": "anti_relous.cli.report",
        "replay": "anti_relous.cli.replaying",
    }
)

#: Names this package offers without importing them until asked (PEP 562).
_LAZY = {
    "EXPORT_FIELDS": ("anti_relous.admin.export", "EXPORT_FIELDS"),
    "PROGRESS_THRESHOLD": ("anti_relous.cli.evidence", "PROGRESS_THRESHOLD"),
    "evidence": ("anti_relous.cli.evidence", None),
    "phone": ("anti_relous.cli.phone", None),
    "replaying": ("anti_relous.cli.replaying", None),
    "report": ("anti_relous.cli.report", None),
    "running": ("anti_relous.cli.running", None),
    "steering": ("anti_relous.cli.steering", None),
    "watching": ("anti_relous.cli.watching", None),
}

__all__ = ["OUTBOX_STATES", "REASONS", "cli", "main", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY[name]
    loaded = importlib.import_module(module)
    return loaded if attribute is None else getattr(loaded, attribute)


def main() -> None:
    """Console-script entry point."""
    cli()
