"""Commands over the evidence chain: export and verify."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from anti_relous.admin.export import FORMATS, infer_format
from anti_relous.cli.base import (
    App,
    CliError,
    cli,
    echo,
    echo_json,
    moment_callback,
    pass_lenient_app,
    period_or_exit,
    plural,
    sender_filter,
    usage_error,
)

#: Exports of more messages than this get a progress bar on stderr (when writing a file).
PROGRESS_THRESHOLD = 1000
#: Exports are evidence for a lawyer or the police: readable by the operators' group, no more.
EXPORT_FILE_MODE = 0o640

CSV_WARNING = (
    "Warning: texts and senders are in this CSV exactly as received; a spreadsheet runs a "
    "cell starting with = + - or @ as a formula. Import it as text (not by opening it), or "
    "export with --safe-csv."
)
SAFE_CSV_NOTE = (
    "Note: --safe-csv put a ' before every cell starting with = + - @, a tab or CR (senders "
    "like +33612345678 included): keep a JSON export as the exact evidence."
)


@contextlib.contextmanager
def _output(target: str, fmt: str, force: bool) -> Iterator[IO[str]]:
    """stdout for ``-``; else a file written under a random name and renamed over ``target``
    once complete (``admin.files``): an interrupted export never looks like a whole one, and a
    link planted in the directory is never followed."""
    from anti_relous.admin.files import check_target, replacing

    if target == "-":
        if fmt == "csv" and sys.stdout.isatty():
            raise usage_error(
                "a CSV export shows texts raw, and a texter's control characters would drive "
                "this terminal: write it to a file (--output plainte.csv), pipe it, or use "
                "--format json, which escapes them"
            )
        yield sys.stdout
        return
    path = Path(target)
    check_target(path, force=force, example=f"export.{fmt}")
    with replacing(path, mode=EXPORT_FILE_MODE, newline="" if fmt == "csv" else None) as handle:
        yield handle


@cli.command(short_help="Export messages as evidence, with raw PDUs and chain hashes.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="json: one object per line (JSON Lines); csv: one row per message "
    "[default: csv for an --output ending in .csv, else json].",
)
@click.option("--output", "-o", default="-", show_default=True, metavar="FILE|-")
@click.option(
    "--since", metavar="TIME", callback=moment_callback(ahead=False), help="e.g. 2026-11-01."
)
@click.option("--until", metavar="TIME", callback=moment_callback(ahead=False), help="Same forms.")
@click.option("--from", "sender", metavar="NUMBER", help="Only this sender.")
@click.option(
    "--safe-csv",
    is_flag=True,
    help="Put ' before CSV cells a spreadsheet would run as formulas (= + - @ tab CR).",
)
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@pass_lenient_app
def export(
    app: App,
    fmt: str | None,
    output: str,
    since: datetime | None,
    until: datetime | None,
    sender: str | None,
    safe_csv: bool,
    force: bool,
) -> None:
    """Export messages as evidence: every field, raw PDUs, decisions and chain hashes.

    Run `anti-relous verify` alongside: the chain hashes prove nothing was altered. The file
    is created 0640 and must not exist yet (--force replaces it). CSV keeps texts and senders
    verbatim, formulas included: import it as text, or add --safe-csv.

    Examples:

    \b
      anti-relous export --output plainte.csv --from 0612345678
      anti-relous export --since 2026-11-01 -o novembre.jsonl
    """
    from anti_relous.admin.export import write_records

    fmt = fmt or infer_format(output)
    if safe_csv and fmt != "csv":
        raise usage_error("--safe-csv applies to CSV exports: add --format csv")
    period_or_exit(since, until)
    store = app.store
    filters: dict[str, Any] = {"since": since, "until": until, "sender": sender_filter(app, sender)}
    total = store.reports.count_messages(**filters) if output != "-" else 0
    with _output(output, fmt, force) as handle, _progress(total, "Exporting") as advance:
        count, last_hash = write_records(
            store.evidence.export(**filters), handle, fmt, safe_csv=safe_csv, advance=advance
        )
    if output != "-":
        head = f", last chain hash {last_hash}" if last_hash else ""
        echo(f"Exported {plural(count, 'message')} to {output}{head}", err=True)
    if fmt == "csv":
        echo(SAFE_CSV_NOTE if safe_csv else CSV_WARNING, err=True)


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Any]:
    """A progress bar on stderr for ``total`` steps, or nothing below PROGRESS_THRESHOLD."""
    if total < PROGRESS_THRESHOLD:
        yield lambda steps: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


@cli.command(short_help="Check the evidence chain and print its head hash.")
@click.option(
    "--head",
    metavar="HASH",
    callback=lambda ctx, param, value: _head_hash(value),
    help="A head hash given out earlier: check that the chain still holds it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_lenient_app
def verify(app: App, head: str | None, as_json: bool) -> None:
    """Check the evidence chain: "OK, N messages" and its head hash, or the first broken row.

    With --head, also check that a head hash given out earlier (with an export, to a lawyer)
    is still in the chain: then nothing up to that message was altered, removed or reordered.
    Exits 1 when the chain is broken or does not hold that head.

    Examples:

    \b
      anti-relous verify
      anti-relous verify --head e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    """
    store = app.store
    total = store.reports.count_messages()
    with _progress(total, "Verifying") as advance:
        done = 0

        def progress(checked: int) -> None:
            nonlocal done
            advance(checked - done)
            done = checked

        result = store.evidence.verify(progress, head=head)
    if as_json:
        echo_json(result)
    elif result.ok:
        echo(f"OK, {plural(result.checked, 'message')}; head hash {result.head_hash}")
    if not as_json and result.head_position is not None:
        echo(
            f"The head {head} is message {result.head_found_at}: the "
            f"{plural(result.head_position, 'message')} up to it are unchanged; "
            f"{plural(result.checked - result.head_position, 'message')} came after it."
        )
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
            f"({plural(result.checked, 'message')} before it verified)"
        )
    if head is not None and result.head_found_at is None:
        raise CliError(
            f"the head {head} is not in the chain: a message up to it was altered, removed or "
            "reordered, or it comes from another line's database"
        )


def _head_hash(value: str | None) -> str | None:
    if value is None:
        return None
    digits = value.strip().lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise usage_error(f"--head: {value!r} is not a head hash (64 hexadecimal digits)")
    return digits
