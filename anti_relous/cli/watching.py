"""Commands that show the line: status, stats, blocks, inbox, outbox."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from anti_relous.cli.base import (
    OUTBOX_STATES,
    REASONS,
    App,
    CliError,
    cli,
    echo,
    echo_json,
    moment_callback,
    pass_lenient_app,
    period_or_exit,
    sender_filter,
)
from anti_relous.clock import utc_now

if TYPE_CHECKING:
    from anti_relous.store.reports import MessageRow


@cli.command(short_help="Pause, flood, daemon, modem, today's traffic, queue and caps.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_lenient_app
def status(app: App, as_json: bool) -> None:
    """Pause, flood mode, daemon and modem health, today's traffic, queue and caps.

    Exits 1 (after printing everything) when no daemon is serving the line.

    Examples:

    \b
      anti-relous status
      anti-relous status --json
    """
    from anti_relous.admin.status import line_status
    from anti_relous.clock import local_now

    report = line_status(app.store, app.config, local_now())
    if as_json:
        echo_json(report)
    else:
        from anti_relous.cli import render

        echo(render.status_text(report, local_now()))
    if report.reply_warning and not as_json:
        echo(f"Warning: {report.reply_warning}", err=True)
    if not report.daemon.running:
        raise CliError(
            f"the line is not being served: {report.daemon.why_not}; start it with "
            "`systemctl start anti-relous` (or `anti-relous run`)"
        )


@cli.command(short_help="Traffic and costs over a period, with an hourly chart.")
@click.option(
    "--since",
    metavar="TIME",
    callback=moment_callback(ahead=False),
    help="e.g. 24h, 08:00, 2026-11-28.",
)
@click.option("--until", metavar="TIME", callback=moment_callback(ahead=False), help="Same forms.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_lenient_app
def stats(app: App, since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Traffic and costs over a period, with a chart of inbound vs replies.

    Without --since, the whole history. "24h" means the last 24 hours. The chart has one line
    an hour, or one a day when the traffic spans more than two days.

    Examples:

    \b
      anti-relous stats --since 24h
      anti-relous stats --since 2026-11-28 --until 2026-11-29 --json
    """
    from anti_relous.admin import status
    from anti_relous.cli import render

    period_or_exit(since, until)
    report = status.stats(app.store, app.config, utc_now(), since, until)
    if as_json:
        echo_json(render.stats_json(report))
    else:
        echo(render.stats_text(report, unicode=render.stdout_unicode()))


@cli.command()
@click.option("--all", "include_expired", is_flag=True, help="Include expired blocks.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_lenient_app
def blocks(app: App, include_expired: bool, as_json: bool) -> None:
    """List blocks in force, manual and automatic, with their expiry.

    Example:

    \b
      anti-relous blocks
    """
    rows = app.store.line.blocks(utc_now(), include_expired=include_expired)
    if as_json:
        echo_json(rows)
        return
    from anti_relous.cli.render import table

    echo(
        table(
            ["id", "target", "kind", "by", "since", "until", "reason"],
            [
                (
                    row.id,
                    f"{row.target}*" if row.is_prefix else row.target,
                    "prefix" if row.is_prefix else "number",
                    "auto" if row.automatic else "manual",
                    row.created_at,
                    row.until or "no end",
                    row.reason,
                )
                for row in rows
            ],
        )
        if rows
        else "No blocks in force."
    )


@cli.command()
@click.option("--from", "sender", metavar="NUMBER", help="Only this sender.")
@click.option("--last", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--reason", type=click.Choice(REASONS), help="Only messages decided so.")
@click.option(
    "--since",
    metavar="TIME",
    callback=moment_callback(ahead=False),
    help="Only messages received since, e.g. 24h, 08:00, 2026-11-28.",
)
@click.option("--id", "message_id", type=click.IntRange(min=1), help="Show this message in full.")
@click.option("--full", is_flag=True, help="Show each message in full, line breaks included.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (full texts).")
@pass_lenient_app
def inbox(
    app: App,
    sender: str | None,
    last: int,
    reason: str | None,
    since: datetime | None,
    message_id: int | None,
    full: bool,
    as_json: bool,
) -> None:
    """The latest inbound messages with their decision, newest first.

    The table cuts long texts; --full (or --id N for one message) shows them whole.

    Examples:

    \b
      anti-relous inbox --last 50
      anti-relous inbox --from 0612345678 --reason abuse_block --since 24h
      anti-relous inbox --id 1234
    """
    from anti_relous.cli import render

    period_or_exit(since, None)
    if message_id is not None:
        row = app.store.reports.message(message_id)
        if row is None:
            raise CliError(f"no message {message_id}: see `anti-relous inbox` for their ids")
        rows = [row]
    else:
        rows = app.store.reports.messages(
            sender=sender_filter(app, sender), reason=reason, since=since, last=last
        )
    if as_json:
        echo_json(rows)
    elif not rows:
        echo("No messages.")
    elif full or message_id is not None:
        echo("\n\n".join(render.message_text(row, _inbox_text(row)) for row in rows))
    else:
        echo(
            render.table(
                ["id", "received", "from", "reason", "reply", "text"],
                [
                    (
                        row.id,
                        row.received_at,
                        row.sender or row.sender_raw,
                        row.reason or "undecided",
                        row.reply_state,
                        _inbox_text(row),
                    )
                    for row in rows
                ],
                wrap_last=60,
            )
        )


def _inbox_text(row: MessageRow) -> str:
    if row.text is not None:
        return row.text
    if row.kind == "undecodable":
        return "[undecodable PDU, kept raw: see `anti-relous export`]"
    return "[text erased after [storage] retention]"


@cli.command(short_help="SMS the line sends, newest first, with their state.")
@click.option("--state", type=click.Choice(OUTBOX_STATES), help="Only this state.")
@click.option("--last", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_lenient_app
def outbox(app: App, state: str | None, last: int, as_json: bool) -> None:
    """SMS the line sends (replies, alerts, manual), newest first, with their state.

    Example:

    \b
      anti-relous outbox --state failed
    """
    rows = app.store.outbox.items(state=state, limit=last)
    if as_json:
        echo_json(rows)
        return
    from anti_relous.cli.render import table

    echo(
        table(
            ["id", "queued", "kind", "to", "parts", "state", "tries", "error"],
            [
                (
                    row.id,
                    row.created_at,
                    row.kind,
                    row.recipient,
                    row.parts,
                    row.state,
                    row.attempts,
                    row.last_error,
                )
                for row in rows
            ],
            wrap_last=50,
        )
        if rows
        else "Nothing in the outbox."
    )
