"""Commands that steer the running line through the shared database: pause, resume, block,
unblock, send, allow, disallow."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from anti_relous.cli.base import (
    App,
    CliError,
    block_target,
    cli,
    duration_callback,
    echo,
    moment_callback,
    number_or_exit,
    pass_app,
    pass_lenient_app,
    plural,
    usage_error,
)
from anti_relous.clock import utc_now


def _daemon_note(app: App) -> str:
    from anti_relous.admin.liveness import daemon_info

    info = daemon_info(
        app.store.line.daemon_state("daemon"), utc_now(), app.config.schedule.health_interval
    )
    if info.running:
        return "The daemon applies it to the next message."
    return f"Note: {info.why_not}; it applies once `anti-relous run` starts."


@cli.command(short_help="Stop replying (SMS are still recorded) until resume or a time.")
@click.option(
    "--for", "duration", metavar="DURATION", callback=duration_callback, help="e.g. 2h, 30m."
)
@click.option(
    "--until",
    metavar="TIME",
    callback=moment_callback(ahead=True),
    help="HH:MM (local) or ISO 8601.",
)
@click.option("--reason", help="Why, for the record and for `status`.")
@pass_lenient_app
def pause(app: App, duration: timedelta | None, until: datetime | None, reason: str | None) -> None:
    """Stop replying (every SMS is still recorded) until `resume`, --for or --until.

    Takes effect on the daemon's next decision: no restart, no signal.

    Examples:

    \b
      anti-relous pause --for 2h --reason "media coverage tonight"
      anti-relous pause --until 08:00
    """
    from anti_relous.cli.render import local_time
    from anti_relous.clock import format_age

    if duration is not None and until is not None:
        raise usage_error("give either --for or --until, not both")
    now = utc_now()
    if duration is not None:
        until = now + duration
    if until is not None and until <= now:
        raise usage_error(f"--until: {local_time(until)} is already past")
    app.store.line.pause(now, until, reason)
    when = f" until {local_time(until)} (in {format_age(until - now)})" if until else ""
    echo(f"Paused{when}: no replies; inbound SMS are still recorded.")
    held = app.store.outbox.queued_replies()
    if held:
        end = f"{local_time(until)} or `anti-relous resume`" if until else "`anti-relous resume`"
        echo(f"{plural(held, 'queued reply', 'queued replies')} held until {end}.")
    echo(_daemon_note(app))


@cli.command()
@pass_lenient_app
def resume(app: App) -> None:
    """Reply again after a pause.

    Example:

    \b
      anti-relous resume
    """
    if app.store.line.resume(utc_now()):
        echo("Resumed: the line replies again, from the next message on.")
        echo(_daemon_note(app))
    else:
        echo("The line was not paused.")


@cli.command(short_help="Never reply to a number, or to a prefix.")
@click.argument("target", metavar="NUMBER|PREFIX")
@click.option("--prefix", is_flag=True, help="Block every number starting with TARGET.")
@click.option("--for", "duration", metavar="DURATION", callback=duration_callback, help="e.g. 7d.")
@click.option("--reason", default="manual block", show_default=True, help="For the record.")
@click.option("--force", is_flag=True, help="Block a prefix even if it covers the line's country.")
@pass_lenient_app
def block(
    app: App, target: str, prefix: bool, duration: timedelta | None, reason: str, force: bool
) -> None:
    """Never reply to a number, or to a prefix (trailing * or --prefix), for a while or for good.

    Numbers are read in the line's region: 0612345678 is +33612345678.

    Examples:

    \b
      anti-relous block 0612345678 --for 30d --reason "insults"
      anti-relous block '+33899*'
    """
    from anti_relous.cli.render import local_time
    from anti_relous.numbers import MIN_PREFIX_DIGITS_PAST_COUNTRY, country_covered

    normalised, is_prefix = block_target(app, target, prefix)
    country = country_covered(normalised, app.config.line.allowed_regions) if is_prefix else None
    if country and not force:
        what = (
            f"every number of the line's country ({country})"
            if len(normalised) <= len(country)
            else f"a whole range of {country} numbers"
        )
        raise usage_error(
            f"{normalised}* would silence {what}: to stop all replies, use `anti-relous pause`; "
            f"a prefix needs {MIN_PREFIX_DIGITS_PAST_COUNTRY} digits after {country} "
            f"(e.g. {country}899*), or add --force"
        )
    now = utc_now()
    until = now + duration if duration else None
    existing = app.store.line.find_block(normalised, is_prefix=is_prefix, now=now)
    app.store.line.block(now, normalised, is_prefix=is_prefix, until=until, reason=reason)
    what = f"prefix {normalised}*" if is_prefix else normalised
    updated = " (the block already in force, updated)" if existing else ""
    echo(f"Blocked {what} until {local_time(until) if until else 'unblocked'}{updated}.")
    dropped = app.store.outbox.queued_replies(to=normalised, prefix=is_prefix)
    if dropped:
        whom = "under it" if is_prefix else "to it"
        echo(f"{plural(dropped, 'queued reply', 'queued replies')} {whom} will not be sent.")


@cli.command()
@click.argument("target", metavar="NUMBER|PREFIX")
@click.option("--prefix", is_flag=True, help="TARGET is a prefix.")
@pass_lenient_app
def unblock(app: App, target: str, prefix: bool) -> None:
    """Lift the blocks on a number or prefix (manual or automatic).

    Example:

    \b
      anti-relous unblock 0612345678
    """
    normalised, is_prefix = block_target(app, target, prefix)
    lifted = app.store.line.unblock(utc_now(), normalised)
    what = f"prefix {normalised}*" if is_prefix else normalised
    if not lifted:
        raise CliError(f"no block in force on {what}: see `anti-relous blocks`")
    echo(f"Unblocked {what} ({lifted} block{'s' if lifted > 1 else ''} lifted).")


@cli.command(short_help="Send an SMS by hand; it counts against the caps.")
@click.argument("number")
@click.argument("text")
@click.option("--force", is_flag=True, help="Send even if it exceeds a cap.")
@pass_app
def send(app: App, number: str, text: str, force: bool) -> None:
    """Send an SMS by hand; it counts against the caps, and is refused past one (or --force).

    With the daemon running it is queued and the daemon sends it; otherwise it leaves now
    through the configured modem.

    Example:

    \b
      anti-relous send 0612345678 "Test de la ligne"
    """
    from anti_relous.admin.send import recipient_warnings, send_manual

    recipient = number_or_exit(app, number)
    if not text.strip():
        raise usage_error("the text is empty")
    region = app.config.line.default_region
    for warning in recipient_warnings(app.store, recipient, region, utc_now()):
        echo(f"Warning: {warning}", err=True)
    sent = send_manual(app.store, app.config, recipient, text, utc_now, force=force)
    if sent.daemon_pid is not None:
        echo(
            f"Queued as outbox #{sent.item_id} ({sent.reply.description}); the daemon "
            f"(pid {sent.daemon_pid}) sends it shortly: see `anti-relous outbox`."
        )
    else:
        parts = len(sent.refs or [])
        echo(
            f"Sent outbox #{sent.item_id} to {recipient} through {sent.port}: "
            f"{plural(parts, 'part')}."
        )


@cli.command(short_help="Vouch for a number: never held nor suppressed during an attack.")
@click.argument("number", required=False)
@click.option("--reason", help="Why (kept with the entry).")
@click.option("--json", "as_json", is_flag=True, help="With no NUMBER: print a JSON array.")
@pass_lenient_app
def allow(app: App, number: str | None, reason: str | None, as_json: bool) -> None:
    """Put a number on the allowlist, or list it (no NUMBER).

    During an attack the line holds new numbers for a second look and ignores campaigns; an
    allowlisted number skips all that (its quota, the caps and blocks still apply).

    Example:

    \b
      anti-relous allow 0612345678 --reason "association member"
    """
    if number is None:
        _list_allowed(app, as_json)
        return
    normalised = number_or_exit(app, number)
    added = app.store.line.allow(utc_now(), normalised, reason or "")
    echo(f"{normalised} {'allowlisted' if added else 'was already on the allowlist'}.")


@cli.command(short_help="Take a number off the allowlist.")
@click.argument("number")
@pass_lenient_app
def disallow(app: App, number: str) -> None:
    """Take a number off the allowlist.

    Example:

    \b
      anti-relous disallow 0612345678
    """
    normalised = number_or_exit(app, number)
    if not app.store.line.disallow(utc_now(), normalised):
        raise CliError(f"{normalised} is not on the allowlist: see `anti-relous allow`")
    echo(f"{normalised} taken off the allowlist.")


def _list_allowed(app: App, as_json: bool) -> None:
    rows = app.store.line.allowlist()
    if as_json:
        from anti_relous.cli.base import echo_json

        echo_json(rows)
        return
    from anti_relous.cli.render import table

    if not rows:
        echo("The allowlist is empty.")
        return
    echo(table(["number", "since", "reason"], [(r.number, r.created_at, r.reason) for r in rows]))
