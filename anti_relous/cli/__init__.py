"""The `anti-relous` command line: thin click commands over the store, the service and the modem.

Each command's docstring is its help, with an example (README.md lists every command; a test
checks both). Errors the package raises on purpose end a command with one line on stderr and
their exit code: 1 operational, 2 usage or configuration. Heavy modules (gammu, apscheduler, the
modem drivers, phonenumbers) are imported inside the commands that use them, so the others do
not pay for them at start-up.
"""

from __future__ import annotations

# Importing the command modules registers their commands on the group.
from anti_relous.admin.export import EXPORT_FIELDS
from anti_relous.cli import evidence, report, running, steering, watching
from anti_relous.cli.base import OUTBOX_STATES, REASONS, cli
from anti_relous.cli.evidence import PROGRESS_THRESHOLD

__all__ = [
    "EXPORT_FIELDS",
    "OUTBOX_STATES",
    "PROGRESS_THRESHOLD",
    "REASONS",
    "cli",
    "evidence",
    "main",
    "report",
    "running",
    "steering",
    "watching",
]


def main() -> None:
    """Console-script entry point."""
    cli()
