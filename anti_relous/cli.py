"""The `anti-relous` command line: thin click commands over the store, the service and the modem.

Each command's docstring is its help, with an example (README.md lists every command; a test
checks both). Errors the package raises on purpose end a command with one line on stderr and
their exit code: 1 operational, 2 usage or configuration. Heavy modules (gammu, apscheduler, the
modem drivers, phonenumbers) are imported inside the commands that use them, so the others do
not pay for them at start-up.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from anti_relous import __version__
from anti_relous.errors import AntiRelousError

if TYPE_CHECKING:
    from anti_relous.config import Config
    from anti_relous.store import Store
    from anti_relous.store.reports import MessageRow

#: The reason codes of DESIGN section 5 (policy.Reason), plus messages not decided yet. Spelled
#: out here so that `--help` does not import the policy.
REASONS = (
    "paused",
    "blocked",
    "destination_filtered",
    "abuse_block",
    "flood",
    "number_quota",
    "hourly_cap",
    "daily_cap",
    "monthly_cap",
    "recipients_cap",
    "replied",
    "undecodable",
    "undecided",
)
OUTBOX_STATES = ("queued", "sending", "sent", "failed", "unknown")
#: Exports of more messages than this get a progress bar on stderr (when writing a file).
PROGRESS_THRESHOLD = 1000


class CliError(click.ClickException):
    """One line on stderr and exit status 1: how an operational failure ends a command."""

    exit_code = 1


class CliUsageError(CliError):
    """A mistake in what was typed (a bad number, duration or time): one line, exit status 2.

    Unlike click.UsageError it does not repeat the usage: the message says what to write.
    """

    exit_code = 2


def usage_error(message: str) -> CliError:
    """The error for a bad value typed on the command line."""
    return CliUsageError(message)


def translate(error: AntiRelousError) -> CliError:
    """The CLI error for one of the package's errors, with its exit code."""
    return CliUsageError(str(error)) if error.exit_code == 2 else CliError(str(error))


class AntiRelousGroup(click.Group):
    """Turns the package's own errors into one line and their exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AntiRelousError as error:
            raise translate(error) from None


class App:
    """What commands share: the configuration and the store, each opened on first use."""

    def __init__(self, config_option: str | None):
        self.config_option = config_option
        self._config: Config | None = None
        self._store: Store | None = None

    @property
    def config_path(self) -> Path:
        """``--config``, else ``$ANTI_RELOUS_CONFIG``, else /etc/anti-relous/config.toml."""
        from anti_relous.config import resolve_config_path

        return resolve_config_path(self.config_option)

    @property
    def config(self) -> Config:
        """The loaded configuration (ConfigError, exit 2, if missing or invalid)."""
        if self._config is None:
            from anti_relous.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def store(self) -> Store:
        """The line's database; it must exist (`anti-relous init` or `run` create it)."""
        if self._store is None:
            from anti_relous.store import Store

            self._store = Store.open(self.config.storage.database, create=False)
        return self._store

    def close(self) -> None:
        """Close the store if a command opened it."""
        if self._store is not None:
            self._store.close()
            self._store = None


pass_app = click.make_pass_decorator(App)


def utc_now() -> datetime:
    """The wall clock as the store wants it."""
    return datetime.now(UTC)


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON."""
    from anti_relous.display import to_json

    click.echo(to_json(value))


# --- option parsers -----------------------------------------------------------------------------


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    from anti_relous.config import parse_duration

    try:
        delta = parse_duration(value)
    except ValueError as error:
        raise usage_error(f"--{param.name}: {error}") from None
    if delta <= timedelta(0):
        raise usage_error(f'--{param.name}: give a duration above zero such as "2h"')
    return delta


def _moment(ahead: bool) -> Any:
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
        if value is None:
            return None
        from anti_relous.admin import local_now, parse_moment

        try:
            return parse_moment(value, local_now(), ahead=ahead)
        except ValueError as error:
            raise usage_error(f"--{param.name}: {error}") from None

    return parse


def number_or_exit(app: App, raw: str) -> str:
    """``raw`` in E.164, read in the line's region; a bad number is a usage error."""
    from anti_relous.numbers import normalise

    number = normalise(raw, app.config.line.default_region)
    if number is None:
        raise usage_error(f"{raw!r} is not a valid phone number; write it as +33612345678")
    return number


def block_target(app: App, raw: str, prefix: bool) -> tuple[str, bool]:
    """A number or, with a trailing ``*`` or ``--prefix``, a prefix; normalised to E.164."""
    from anti_relous.numbers import normalise_prefix

    if raw.endswith("*"):
        raw, prefix = raw[:-1], True
    if not prefix:
        return number_or_exit(app, raw), False
    target = normalise_prefix(raw, app.config.line.default_region)
    if target is None or len(target) < 3:
        raise usage_error(
            f"{raw!r} is not a number prefix; write it as +33899 or 0899 (digits only)"
        )
    return target, True


def sender_filter(app: App, raw: str | None) -> str | None:
    """A sender as the store keys it: E.164 for numbers, the text itself for names."""
    if raw is None:
        return None
    from anti_relous.numbers import normalise

    return normalise(raw, app.config.line.default_region) or raw.strip()


# --- the group ----------------------------------------------------------------------------------


@click.group(cls=AntiRelousGroup)
@click.option(
    "--config",
    "config_option",
    metavar="PATH",
    help="Configuration file [default: $ANTI_RELOUS_CONFIG, else /etc/anti-relous/config.toml].",
)
@click.version_option(__version__, prog_name="anti-relous")
@click.pass_context
def cli(ctx: click.Context, config_option: str | None) -> None:
    """Run and steer an anti-relous SMS line.

    Every command reads the configuration (--config) and, except `init`, `run`, `simulate` and
    `demo`, the line's existing database. Try `anti-relous demo` first.
    """
    app = App(config_option)
    ctx.obj = app
    ctx.call_on_close(app.close)


# --- running ------------------------------------------------------------------------------------


@cli.command()
@pass_app
def run(app: App) -> None:
    """Run the line: poll the SIM, record, decide, reply (systemd starts this).

    Example:

    \b
      anti-relous --config /etc/anti-relous/config.toml run
    """
    from anti_relous import daemon

    sys.exit(daemon.run(app.config, config_path=app.config_path))


@cli.command()
@click.option("--messages", "flood_size", default=2000, show_default=True, help="SMS in the flood.")
@click.option("--bots", default=50, show_default=True, help="Numbers the flood comes from.")
@click.option("--keep", is_flag=True, help="Keep the demo's config, database and logs.")
def demo(flood_size: int, bots: int, keep: bool) -> None:
    """Play a bot flood against the real daemon and a simulated dongle (under a minute).

    Genuine texters get one reply each; a flood of 2,000 SMS from 50 numbers is recorded but
    trips the breakers; a pause and a resume follow. Ends with a summary table.

    Example:

    \b
      anti-relous demo
    """
    from anti_relous import demo as scenario

    scenario.main(
        flood_size=flood_size, bots=bots, echo=click.echo, live=sys.stdout.isatty(), keep=keep
    )


@cli.command()
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the configuration [default: the --config path].",
)
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Set [storage] database in the new file (e.g. a path you can write without root).",
)
@click.option("--force", is_flag=True, help="Replace an existing configuration file.")
@pass_app
def init(app: App, path: Path | None, database: Path | None, force: bool) -> None:
    """Write the commented configuration (mode 0640) and create the database (mode 0660).

    Run as root, the configuration goes to group anti-relous and the database to the service
    user, as systemd/ expects.

    Examples:

    \b
      sudo anti-relous init
      anti-relous init --path ./line.toml --database ./line.db
    """
    from anti_relous import admin
    from anti_relous.config import DEFAULT_CONFIG_PATH, load_config

    target = path or app.config_path
    text = admin.config_text(database.absolute() if database else None)
    group = admin.write_config(target, text, force=force)
    config = load_config(target)
    owner = f", group {group}" if group else ""
    click.echo(f"Wrote {target} (mode 0640{owner}): every key is commented, edit it.")
    created = admin.create_database(config.storage.database)
    state = "Created" if created else "Kept the existing"
    click.echo(f"{state} database {config.storage.database}")
    reply = admin.reply_info(config.line.reply)
    click.echo(f"Reply: {reply.description}")
    warning = admin.reply_warning(reply)
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    if target == DEFAULT_CONFIG_PATH:
        click.echo(
            "Next: set [modem] port, check with `anti-relous doctor`, then "
            "`systemctl enable --now anti-relous`."
        )
    else:
        click.echo(
            f"Next: set [modem] port, check with `anti-relous --config {target} doctor`, then "
            f"`anti-relous --config {target} run`."
        )


# --- steering -----------------------------------------------------------------------------------


def _daemon_note(app: App) -> str:
    from anti_relous.admin import daemon_info

    info = daemon_info(
        app.store.line.daemon_state("daemon"), utc_now(), app.config.schedule.health_interval
    )
    if info.running:
        return "The daemon applies it to the next message."
    return f"Note: {info.why_not}; it applies once `anti-relous run` starts."


@cli.command()
@click.option("--for", "duration", metavar="DURATION", callback=_duration, help="e.g. 2h, 30m.")
@click.option(
    "--until", metavar="TIME", callback=_moment(ahead=True), help="HH:MM (local) or ISO 8601."
)
@click.option("--reason", help="Why, for the record and for `status`.")
@pass_app
def pause(app: App, duration: timedelta | None, until: datetime | None, reason: str | None) -> None:
    """Stop replying (every SMS is still recorded) until `resume`, --for or --until.

    Takes effect on the daemon's next decision: no restart, no signal.

    Examples:

    \b
      anti-relous pause --for 2h --reason "media coverage tonight"
      anti-relous pause --until 08:00
    """
    from anti_relous.admin import format_age
    from anti_relous.display import local_time

    if duration is not None and until is not None:
        raise usage_error("give either --for or --until, not both")
    now = utc_now()
    if duration is not None:
        until = now + duration
    if until is not None and until <= now:
        raise usage_error(f"--until: {local_time(until)} is already past")
    app.store.line.pause(now, until, reason)
    when = f" until {local_time(until)} (in {format_age(until - now)})" if until else ""
    click.echo(f"Paused{when}: no replies; inbound SMS are still recorded.")
    click.echo(_daemon_note(app))


@cli.command()
@pass_app
def resume(app: App) -> None:
    """Reply again after a pause.

    Example:

    \b
      anti-relous resume
    """
    if app.store.line.resume(utc_now()):
        click.echo("Resumed: the line replies again, from the next message on.")
        click.echo(_daemon_note(app))
    else:
        click.echo("The line was not paused.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def status(app: App, as_json: bool) -> None:
    """Pause, flood mode, daemon and modem health, today's traffic, queue and caps.

    Exits 1 (after printing everything) when no daemon is serving the line.

    Examples:

    \b
      anti-relous status
      anti-relous status --json
    """
    from anti_relous.admin import line_status, local_now

    report = line_status(app.store, app.config, local_now())
    if as_json:
        echo_json(report)
    else:
        from anti_relous import display

        click.echo(display.status_text(report, local_now()))
    if report.reply_warning and not as_json:
        click.echo(f"Warning: {report.reply_warning}", err=True)
    if not report.daemon.running:
        raise CliError(
            f"the line is not being served: {report.daemon.why_not}; start it with "
            "`systemctl start anti-relous` (or `anti-relous run`)"
        )


@cli.command()
@click.option(
    "--since", metavar="TIME", callback=_moment(ahead=False), help="e.g. 24h, 08:00, 2026-11-28."
)
@click.option("--until", metavar="TIME", callback=_moment(ahead=False), help="Same forms.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def stats(app: App, since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Traffic and costs over a period, with an hour-by-hour chart of inbound vs replies.

    Without --since, the whole history. "24h" means the last 24 hours.

    Examples:

    \b
      anti-relous stats --since 24h
      anti-relous stats --since 2026-11-28 --until 2026-11-29 --json
    """
    from anti_relous import admin, display

    report = admin.stats(app.store, app.config, utc_now(), since, until)
    if as_json:
        echo_json(display.stats_json(report))
    else:
        click.echo(display.stats_text(report, unicode=display.stdout_unicode()))


@cli.command()
@click.argument("target", metavar="NUMBER|PREFIX")
@click.option("--prefix", is_flag=True, help="Block every number starting with TARGET.")
@click.option("--for", "duration", metavar="DURATION", callback=_duration, help="e.g. 7d.")
@click.option("--reason", default="manual block", show_default=True, help="For the record.")
@pass_app
def block(app: App, target: str, prefix: bool, duration: timedelta | None, reason: str) -> None:
    """Never reply to a number, or to a prefix (trailing * or --prefix), for a while or for good.

    Numbers are read in the line's region: 0612345678 is +33612345678.

    Examples:

    \b
      anti-relous block 0612345678 --for 30d --reason "insults"
      anti-relous block '+33899*'
    """
    from anti_relous.display import local_time

    normalised, is_prefix = block_target(app, target, prefix)
    now = utc_now()
    until = now + duration if duration else None
    app.store.line.block(now, normalised, is_prefix=is_prefix, until=until, reason=reason)
    what = f"prefix {normalised}*" if is_prefix else normalised
    click.echo(f"Blocked {what} until {local_time(until) if until else 'unblocked'}.")


@cli.command()
@click.argument("target", metavar="NUMBER|PREFIX")
@click.option("--prefix", is_flag=True, help="TARGET is a prefix.")
@pass_app
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
    click.echo(f"Unblocked {what} ({lifted} block{'s' if lifted > 1 else ''} lifted).")


@cli.command()
@click.option("--all", "include_expired", is_flag=True, help="Include expired blocks.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
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
    from anti_relous.display import table

    click.echo(
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


# --- looking ------------------------------------------------------------------------------------


@cli.command()
@click.option("--from", "sender", metavar="NUMBER", help="Only this sender.")
@click.option("--last", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--reason", type=click.Choice(REASONS), help="Only messages decided so.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (full texts).")
@pass_app
def inbox(app: App, sender: str | None, last: int, reason: str | None, as_json: bool) -> None:
    """The latest inbound messages with their decision, newest first.

    Examples:

    \b
      anti-relous inbox --last 50
      anti-relous inbox --from 0612345678 --reason abuse_block
    """
    rows = app.store.reports.messages(sender=sender_filter(app, sender), reason=reason, last=last)
    if as_json:
        echo_json(rows)
        return
    from anti_relous.display import table

    click.echo(
        table(
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
        if rows
        else "No messages."
    )


def _inbox_text(row: MessageRow) -> str:
    if row.text is not None:
        return row.text
    if row.kind == "undecodable":
        return "[undecodable PDU, kept raw: see `anti-relous export`]"
    return "[text erased after [storage] retention]"


@cli.command()
@click.option("--state", type=click.Choice(OUTBOX_STATES), help="Only this state.")
@click.option("--last", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
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
    from anti_relous.display import table

    click.echo(
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


# --- evidence -----------------------------------------------------------------------------------

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
@click.option("--since", metavar="TIME", callback=_moment(ahead=False), help="e.g. 2026-11-01.")
@click.option("--until", metavar="TIME", callback=_moment(ahead=False), help="Same forms.")
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
    import json

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
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            last_hash = record["chain_hash"]
            advance(1)
    if output != "-":
        head = f", last chain hash {last_hash}" if last_hash else ""
        click.echo(f"Exported {count} messages to {output}{head}", err=True)


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
        click.echo(f"OK, {result.checked} messages; head hash {result.head_hash}")
    elif result.broken_id is not None:
        from anti_relous.display import table

        row = store.reports.message(result.broken_id)
        if row is not None:
            click.echo(f"BROKEN at message {row.id}: {result.problem}")
            click.echo(
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


# --- sending ------------------------------------------------------------------------------------


@cli.command()
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
    from anti_relous.admin import send_manual

    recipient = number_or_exit(app, number)
    if not text.strip():
        raise usage_error("the text is empty")
    sent = send_manual(app.store, app.config, recipient, text, utc_now, force=force)
    if sent.daemon_pid is not None:
        click.echo(
            f"Queued as outbox #{sent.item_id} ({sent.reply.description}); the daemon "
            f"(pid {sent.daemon_pid}) sends it shortly: see `anti-relous outbox`."
        )
    else:
        parts = len(sent.refs or [])
        click.echo(
            f"Sent outbox #{sent.item_id} to {recipient} through {sent.port}: {parts} part(s)."
        )


# --- diagnosis ----------------------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--no-modem", is_flag=True, help="Do not open the modem (e.g. while the daemon runs)."
)
@pass_app
def doctor(app: App, as_json: bool, no_modem: bool) -> None:
    """Check the dongle, its port, permissions, ModemManager, the SIM, the config and the DB.

    Every problem comes with the command that fixes it. Exits 1 if any problem was found.

    Example:

    \b
      anti-relous doctor
    """
    from anti_relous import doctor as checks

    report = checks.run(app.config_path, open_modem=not no_modem)
    if as_json:
        echo_json(checks.as_dict(report))
    else:
        click.echo(checks.render(report))
    if report.problems:
        raise CliError(f"{len(report.problems)} problem(s) found; fix them with the commands above")


@cli.group(invoke_without_command=True)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the pty link, control socket and config go [default: a per-user runtime dir].",
)
@click.pass_context
def simulate(ctx: click.Context, directory: Path | None) -> None:
    """Run a simulated USB dongle on a pty, to try the real daemon without hardware.

    Prints the port and a config that points the daemon at it; text it from another terminal
    with `anti-relous simulate text`. Ctrl-C stops it.

    Example:

    \b
      anti-relous simulate
    """
    from anti_relous import sandbox as sim

    ctx.obj = sim.SimulateDir(directory or sim.default_dir())
    if ctx.invoked_subcommand is None:
        sim.serve(ctx.obj, click.echo)


@simulate.command("text")
@click.argument("sender")
@click.argument("text")
@click.pass_obj
def simulate_text(place: Any, sender: str, text: str) -> None:
    """Make a running simulator receive an SMS from SENDER.

    Example:

    \b
      anti-relous simulate text +33612345678 "salut"
    """
    from anti_relous.modem.sim_control import control

    answer = control(place.socket, {"op": "deliver", "sender": sender, "text": text})
    click.echo(f"Delivered from {sender} ({answer['parts']} part(s)).")


@simulate.command("sent")
@click.pass_obj
def simulate_sent(place: Any) -> None:
    """List the SMS the line sent through a running simulator.

    Example:

    \b
      anti-relous simulate sent
    """
    from anti_relous.modem.sim_control import control

    answer = control(place.socket, {"op": "sent"})
    messages = answer["messages"]
    for number, text in messages:
        click.echo(f"to {number}: {text}")
    if not messages:
        click.echo("Nothing sent yet.")


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
