"""Commands over the evidence chain: export and verify."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from anti_relous.cli.base import (
    App,
    CliError,
    cli,
    echo,
    echo_json,
    moment_callback,
    pass_app,
    sender_filter,
)
from anti_relous.untrusted import json_dumps

#: Exports of more messages than this get a progress bar on stderr (when writing a file).
PROGRESS_THRESHOLD = 1000


#: CSV columns, in order: every field of the export, lists joined by spaces.
EXPORT_FIELDS = (
    "id",
    "received_at",
    "kind",
    "sender_raw",
    "sender",
    "sender_kind",
    "sender_region",
    "smsc_time",
    "parts",
    "parts_expected",
    "text",
    "text_sha256",
    "purged_at",
    "decision",
    "replied",
    "decision_detail",
    "decided_at",
    "pdus",
    "pdu_sha256",
    "decode_error",
    "prev_hash",
    "chain_hash",
)


@contextlib.contextmanager
def _output(target: str, csv_mode: bool) -> Iterator[IO[str]]:
    """stdout for ``-``; else a temporary file renamed over ``target`` once complete, so an
    interrupted export never looks like a whole one."""
    if target == "-":
        yield sys.stdout
        return
    path = Path(target)
    partial = path.with_name(f".{path.name}.partial")
    try:
        handle = partial.open("w", encoding="utf-8", newline="" if csv_mode else None)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with handle:
            yield handle
        partial.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="json: one object per line (JSON Lines); csv: one row per message.",
)
@click.option("--output", "-o", default="-", show_default=True, metavar="FILE|-")
@click.option(
    "--since", metavar="TIME", callback=moment_callback(ahead=False), help="e.g. 2026-11-01."
)
@click.option("--until", metavar="TIME", callback=moment_callback(ahead=False), help="Same forms.")
@click.option("--from", "sender", metavar="NUMBER", help="Only this sender.")
@pass_app
def export(
    app: App,
    fmt: str,
    output: str,
    since: datetime | None,
    until: datetime | None,
    sender: str | None,
) -> None:
    """Export messages as evidence: every field, raw PDUs, decisions and chain hashes.

    Run `anti-relous verify` alongside: the chain hashes prove nothing was altered.

    Examples:

    \b
      anti-relous export --format csv --output plainte.csv --from 0612345678
      anti-relous export --format json --since 2026-11-01 -o novembre.jsonl
    """
    import csv

    store = app.store
    filters: dict[str, Any] = {"since": since, "until": until, "sender": sender_filter(app, sender)}
    total = store.reports.count_messages(**filters) if output != "-" else 0
    count = 0
    last_hash = None
    with _output(output, fmt == "csv") as handle, _progress(total, "Exporting") as advance:
        writer = csv.DictWriter(handle, EXPORT_FIELDS) if fmt == "csv" else None
        if writer is not None:
            writer.writeheader()
        for record in store.evidence.export(**filters):
            if writer is not None:
                writer.writerow({key: _csv_value(record.get(key)) for key in EXPORT_FIELDS})
            else:
                handle.write(json_dumps(record) + "\n")
            count += 1
            last_hash = record["chain_hash"]
            advance(1)
    if output != "-":
        head = f", last chain hash {last_hash}" if last_hash else ""
        echo(f"Exported {count} messages to {output}{head}", err=True)


def _csv_value(value: object) -> object:
    if isinstance(value, list):
        return " ".join("" if v is None else str(v) for v in value)
    return value


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Any]:
    """A progress bar on stderr for ``total`` steps, or nothing below PROGRESS_THRESHOLD."""
    if total < PROGRESS_THRESHOLD:
        yield lambda steps: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def verify(app: App, as_json: bool) -> None:
    """Check the evidence chain: "OK, N messages" and its head hash, or the first broken row.

    Exits 1 when the chain is broken.

    Example:

    \b
      anti-relous verify
    """
    store = app.store
    total = store.reports.count_messages()
    with _progress(total, "Verifying") as advance:
        done = 0

        def progress(checked: int) -> None:
            nonlocal done
            advance(checked - done)
            done = checked

        result = store.evidence.verify(progress)
    if as_json:
        echo_json(result)
    elif result.ok:
        echo(f"OK, {result.checked} messages; head hash {result.head_hash}")
    elif result.broken_id is not None:
        from anti_relous.cli.render import table

        row = store.reports.message(result.broken_id)
        if row is not None:
            echo(f"BROKEN at message {row.id}: {result.problem}")
            echo(
                table(
                    ["id", "received", "from", "reason", "text"],
                    [(row.id, row.received_at, row.sender or row.sender_raw, row.reason, row.text)],
                    wrap_last=60,
                )
            )
    if not result.ok:
        raise CliError(
            f"the chain is broken at message {result.broken_id}: {result.problem} "
            f"({result.checked} messages before it verified)"
        )
