"""`anti-relous replay`: try a configuration on recorded traffic, in virtual time."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from anti_relous.cli.base import App, cli, duration_callback, echo, echo_json, pass_app, usage_error

if TYPE_CHECKING:
    from anti_relous.config import Config
    from anti_relous.replay import ReplaySummary, SentSms


@cli.command(short_help="Replay recorded traffic through the line in virtual time.")
@click.argument("traffic", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the replay's database here (a new file) to inspect it with inbox and stats.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Write one JSON object per SMS the line would have sent (sent_at, to, kind, parts).",
)
@click.option(
    "--tail",
    default="24h",
    show_default=True,
    callback=duration_callback,
    help="Keep the clock running this long after the last SMS (queue, held decisions).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def replay(
    app: App,
    traffic: Path,
    database: Path | None,
    output: Path | None,
    tail: object,
    as_json: bool,
) -> None:
    """Replay TRAFFIC (JSON Lines) through the line's own policy, without a modem.

    Each line needs received_at (ISO 8601 with an offset), sender and text: the fields
    `export --format json` writes, so last week's export replays as is. The clock jumps from
    one SMS to the next while the daemon's jobs run at their intervals; nothing is sent and
    the line's own database is never touched. Use it to try a configuration on your history,
    as fail2ban-regex tries a filter.

    Example (last-week.jsonl made by `export --format json --since 7d -o last-week.jsonl`):

    \b
      anti-relous --config try.toml replay last-week.jsonl --output sent.jsonl
    """
    from datetime import timedelta

    from anti_relous.replay import read_traffic, replay_traffic_file

    assert isinstance(tail, timedelta)
    if database is not None and database.exists():
        raise usage_error(
            f"--database {database} already exists: give a new file (a replay never writes "
            "into an existing database, least of all the line's own)"
        )
    config = _config(app)
    from anti_relous.logs import configure_logging

    # The line's own log lines (an attack starting, a sender blocked) would drown the summary.
    configure_logging("error", full_numbers=False)
    with _open_input(traffic) as handle:
        sms = read_traffic(handle, source=str(traffic))
    with _database_path(database) as db_path, _open_output(output) as sent_out:
        summary = replay_traffic_file(
            sms, config, db_path, tail=tail, on_sent=_writer(sent_out) if sent_out else None
        )
    if as_json:
        echo_json(summary)
    else:
        echo(_render(summary, database))


def _config(app: App) -> Config:
    """The configuration to try; with none given and none installed, the built-in defaults."""
    from anti_relous.config import Config

    if app.config_option is None and not app.config_path.exists():
        echo(
            f"No configuration at {app.config_path}: replaying with the built-in defaults.",
            err=True,
        )
        return Config()
    return app.config


def _writer(handle: IO[str]) -> Callable[[SentSms], None]:
    from anti_relous.untrusted import json_dumps

    def write(sms: SentSms) -> None:
        record = {
            "sent_at": sms.sent_at.isoformat(),
            "to": sms.to,
            "kind": sms.kind,
            "parts": sms.parts,
        }
        handle.write(json_dumps(record) + "\n")

    return write


@contextlib.contextmanager
def _open_input(path: Path) -> Iterator[IO[str]]:
    if str(path) == "-":
        yield sys.stdin
        return
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise usage_error(f"cannot read {path}: {error.strerror or error}") from None
    with handle:
        yield handle


@contextlib.contextmanager
def _open_output(path: Path | None) -> Iterator[IO[str] | None]:
    if path is None:
        yield None
        return
    if str(path) == "-":
        yield sys.stdout
        return
    try:
        handle = path.open("w", encoding="utf-8")
    except OSError as error:
        raise usage_error(f"cannot write {path}: {error.strerror or error}") from None
    with handle:
        yield handle


@contextlib.contextmanager
def _database_path(database: Path | None) -> Iterator[Path]:
    if database is not None:
        yield database
        return
    with tempfile.TemporaryDirectory(prefix="anti-relous-replay-") as folder:
        yield Path(folder) / "replay.db"


def _render(summary: ReplaySummary, database: Path | None) -> str:
    from anti_relous.cli.render import local_time, table

    lines = [
        f"Replayed {summary.messages} message(s) ({summary.inbound_parts} part(s)) from "
        f"{local_time(summary.first_at)} to {local_time(summary.last_at)} "
        f"in {summary.elapsed_s:.1f} s.",
        "",
        table(["decision", "messages"], list(summary.decisions.items())),
        "",
        f"Replies {summary.replies}, alerts {summary.alerts}, to {summary.recipients} distinct "
        f"number(s); {summary.parts_sent} part(s) sent.",
    ]
    if summary.undecided:
        lines.append(f"Still undecided at the end: {summary.undecided}.")
    for kind, start, end in summary.attack_periods:
        what = "Attack" if kind == "attack" else "Flood mode (replies suspended)"
        lines.append(f"{what} from {local_time(start)} to {local_time(end)}.")
    lines.append(
        f"A cloud line would have billed {summary.cloud_cost_avoided:,.2f} "
        f"{summary.currency}; this one pays nothing per SMS."
    )
    if database is not None:
        lines.append(f"Inspect it: anti-relous --database {database} stats (or inbox).")
    return "\n".join(lines)
