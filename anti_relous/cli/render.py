"""Plain-text rendering for the CLI: aligned tables, local times, JSON, the hour-by-hour chart.

Every command prints through here; nothing else in the package formats for a terminal. What a
texter (or a dongle, or the network) wrote reaches the terminal only through
``untrusted.visible``, and JSON only through ``untrusted.json_dumps``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anti_relous.cli.base import plural
from anti_relous.clock import format_age
from anti_relous.untrusted import columns, fit, json_dumps, visible

if TYPE_CHECKING:
    from anti_relous.admin.liveness import ModemInfo
    from anti_relous.admin.status import LineStatus, Stats
    from anti_relous.doctor.checks import Report
    from anti_relous.store.line import BlocksInForce
    from anti_relous.store.reports import Activity, HourRow, MessageRow

#: Partial blocks, in eighths of a character cell, for bars finer than one character.
_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"
#: Traffic spanning more hours than this is charted one line a day instead of one an hour.
CHART_MAX_HOURS = 48


def local_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """``2026-11-28 15:04`` in the machine's zone; ``-`` for None."""
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, wrap_last: int = 0) -> str:
    """Columns aligned on the widest cell; numbers right-aligned, ids without separators.

    Every cell is shown through ``visible`` (a text's line breaks as ``⏎``, tabs and controls
    escaped), so a row stays one line. ``wrap_last`` > 0 caps the last column to that many
    terminal columns (texts of SMS).
    """
    identifiers = [header == "id" for header in headers]
    cells = [
        [_cell(value, plain) for value, plain in zip(row, identifiers, strict=True)] for row in rows
    ]
    if wrap_last:
        for row in cells:
            row[-1] = fit(row[-1], wrap_last)
    widths = [columns(h) for h in headers]
    for row in cells:
        widths = [max(w, columns(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(isinstance(row[i], int | float) for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        padded = [
            _pad(value, width, right)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(row) for row in cells)])


def _pad(value: str, width: int, right: bool) -> str:
    padding = " " * (width - columns(value))  # str.ljust counts an emoji as one column
    return padding + value if right else value + padding


def _cell(value: object, identifier: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value) if identifier else f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return visible(str(value))


def to_json(value: Any) -> str:
    """JSON for ``--json``: datetimes in ISO 8601, dataclasses as objects, keys as written;
    texts exact, their control, C1 and bidi characters escaped (``untrusted.json_dumps``)."""
    return json_dumps(jsonable(value), indent=2)


def jsonable(value: Any) -> Any:
    """``value`` made of JSON types only."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def stats_json(stats: Stats) -> dict[str, Any]:
    """``stats --json``: one flat object, DESIGN section 7's keys at the top level."""
    document = jsonable(stats)
    return {**document.pop("figures"), **document}


def bar(value: float, scale: float, *, unicode: bool = True) -> str:
    """A horizontal bar of ``value / scale`` character cells; anything above zero shows."""
    if value <= 0 or scale <= 0:
        return ""
    cells = value / scale
    if not unicode:
        return "#" * max(1, round(cells))
    eighths = max(1, round(cells * 8))
    full, rest = divmod(eighths, 8)
    return _FULL * full + (_EIGHTHS[rest] if rest else "")


def traffic_chart(rows: Sequence[HourRow], *, width: int = 30, unicode: bool = True) -> str:
    """The chart of ``stats``: one line an hour, or one a day when the traffic spans more than
    CHART_MAX_HOURS (`stats --since 30d`)."""
    if rows and rows[-1].start - rows[0].start >= timedelta(hours=CHART_MAX_HOURS):
        return daily_chart(rows, width=width, unicode=unicode)
    return hourly_chart(rows, width=width, unicode=unicode)


def hourly_chart(rows: Sequence[HourRow], *, width: int = 30, unicode: bool = True) -> str:
    """Inbound SMS against replies, one line per hour (local time), both bars on one scale.

    One scale on purpose: a flood of thousands next to a handful of replies is the picture.
    Hours without traffic between two busy ones are shown empty so the time axis stays true.
    """
    if not rows:
        return "(no traffic in this period)"
    by_start = {row.start: (row.inbound, row.replies) for row in rows}
    lines = []
    moment = rows[0].start
    while moment <= rows[-1].start:
        label = moment.astimezone().strftime("%Y-%m-%d %H:00")
        lines.append((label, *by_start.get(moment, (0, 0))))
        moment += timedelta(hours=1)
    return _chart("hour", lines, width=width, unicode=unicode)


def daily_chart(rows: Sequence[HourRow], *, width: int = 30, unicode: bool = True) -> str:
    """Like ``hourly_chart``, one line per local day."""
    if not rows:
        return "(no traffic in this period)"
    by_day: dict[date, tuple[int, int]] = {}
    for row in rows:
        day = row.start.astimezone().date()
        inbound, replies = by_day.get(day, (0, 0))
        by_day[day] = (inbound + row.inbound, replies + row.replies)
    lines = []
    day, last = min(by_day), max(by_day)
    while day <= last:
        lines.append((day.isoformat(), *by_day.get(day, (0, 0))))
        day += timedelta(days=1)
    return _chart("day", lines, width=width, unicode=unicode)


def _chart(unit: str, lines: Sequence[tuple[str, int, int]], *, width: int, unicode: bool) -> str:
    peak = max(max(inbound, replies) for _, inbound, replies in lines)
    scale = float(math.ceil(peak / width)) if peak > width else 1.0
    count_width = max(len(f"{peak:,}"), 7)
    shown = [
        f"{unit:<16}  {'inbound':>{count_width}} {'':<{width}}  {'replies':>{count_width}}",
    ]
    for label, inbound, replies in lines:
        inbound_bar = bar(inbound, scale, unicode=unicode)
        reply_bar = bar(replies, scale, unicode=unicode)
        shown.append(
            f"{label:<16}  {inbound:>{count_width},} {inbound_bar:<{width}}  "
            f"{replies:>{count_width},} {reply_bar}".rstrip()
        )
    scale_unit = "one SMS" if scale == 1.0 else f"{scale:,.0f} SMS"
    block = _FULL if unicode else "#"
    shown.append(f"(one scale for both columns: {block} = {scale_unit})")
    return "\n".join(shown)


def stdout_unicode() -> bool:
    """True when stdout can show block characters (else the chart falls back to ``#``)."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        _FULL.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def status_text(status: LineStatus, now: datetime) -> str:
    """`anti-relous status` for a person."""
    if status.paused:
        until = f" until {local_time(status.paused_until)}" if status.paused_until else ""
        line = f"PAUSED{until}: {status.pause_reason or 'no reason given'} (SMS still recorded)"
    else:
        line = "replying"
    flood = "no"
    if status.flood_mode:
        flood = f"YES since {local_time(status.flood_since)}: replies suspended, SMS recorded"
    attack = "no"
    if status.attack_since is not None:
        attack = (
            f"YES since {local_time(status.attack_since)}: new numbers held for a second look, "
            "campaigns ignored, people answered"
        )
    daemon = status.daemon
    if daemon.running:
        seen = format_age(now - daemon.updated_at) if daemon.updated_at else "?"
        # A running daemon's status line repeats what the rows below show live (its queue went
        # stale the moment it was published); any other state's line says what is wrong.
        if daemon.state == "running":
            up = f", up {format_age(now - daemon.started_at)}" if daemon.started_at else ""
            daemon_text = f"running, pid {daemon.pid}{up} (updated {seen} ago)"
        else:
            daemon_text = f"{daemon.state}, pid {daemon.pid}: {daemon.status} (updated {seen} ago)"
    else:
        daemon_text = f"NOT RUNNING: {daemon.why_not}"
    rows = [
        ("Line", line),
        ("Attack", attack),
        *([("Flood mode", flood)] if status.flood_mode else []),
        ("Daemon", daemon_text),
        ("Modem", _modem_text(status.modem, now)),
        ("Today", _activity_text(status.today)),
        ("This hour", _activity_text(status.this_hour)),
        ("Last SMS", _last_received_text(status.last_received_at, now)),
        ("Queue", f"{status.queue} SMS waiting to be sent"),
        ("Blocks", _blocks_text(status.blocks)),
        ("Caps left", ", ".join(f"{c.name} {c.remaining}/{c.limit}" for c in status.caps)),
        ("Reply", status.reply.description),
    ]
    if status.pin_rejected:
        rows.insert(3, ("SIM PIN", f"REJECTED: {status.pin_rejected}"))
    # The pause reason, the daemon's and modem's words and the operator's name come from
    # outside (a pasted text, the dongle, the network).
    return "\n".join(f"{label:<11} {visible(value)}" for label, value in rows)


def _blocks_text(blocks: BlocksInForce) -> str:
    total = blocks.numbers + len(blocks.prefixes)
    if not total:
        return "none (see `anti-relous blocks`)"
    parts = []
    if blocks.numbers:
        parts.append(f"{plural(blocks.numbers, 'number')} ({blocks.automatic:,} automatic)")
    if blocks.prefixes:
        parts.append(
            f"{'prefix' if len(blocks.prefixes) == 1 else 'prefixes'} "
            + ", ".join(f"{prefix}*" for prefix in blocks.prefixes)
        )
    return f"{total:,} in force: {', '.join(parts)}"


def _activity_text(activity: Activity) -> str:
    replies = plural(activity.replies_queued, "reply", "replies")
    return (
        f"{activity.inbound_messages:,} inbound, {replies} queued, "
        f"{activity.replies_sent:,} of them sent"
    )


def _last_received_text(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "none received yet"
    return f"{local_time(moment, seconds=True)} ({format_age(now - moment)} ago)"


def _modem_text(modem: ModemInfo | None, now: datetime) -> str:
    if modem is None:
        return "never seen (the daemon has not published it yet)"
    seen = f"as seen {format_age(now - modem.updated_at)} ago"
    if modem.error:
        return f"UNAVAILABLE: {modem.error} ({seen})"
    parts = []
    identity = modem.identity or {}
    if identity:
        parts.append(f"{identity.get('manufacturer', '')} {identity.get('model', '')}".strip())
    health = modem.health or {}
    if health:
        parts.append(f"SIM {health.get('sim_state')}")
        if health.get("signal_dbm") is not None:
            parts.append(f"signal {health['signal_dbm']} dBm ({health.get('signal_csq')}/31)")
        else:
            parts.append("signal unknown")
        operator = f" on {health['operator']}" if health.get("operator") else ""
        parts.append(f"{health.get('registration')}{operator}")
        if health.get("storage_total") is not None:
            parts.append(f"SIM storage {health.get('storage_used')}/{health['storage_total']}")
    return f"{', '.join(parts) or 'no details'} ({seen})"


def stats_text(stats: Stats, *, unicode: bool = True) -> str:
    """`anti-relous stats` for a person: figures, decisions, costs and the chart."""
    period = f"{local_time(stats.since) if stats.since else 'the beginning'} to "
    period += local_time(stats.until) if stats.until else "now"
    price = f"{stats.cloud_price_per_sms:.2f} {stats.currency}"
    f = stats.figures
    lines = [
        f"From {period}",
        "",
        f"Inbound          {plural(f.inbound_messages, 'message')} "
        f"({plural(f.inbound_parts, 'SMS part')}) from {plural(f.senders, 'sender')}",
        f"Replies          {f.replies_sent:,} sent, {f.replies_failed:,} failed, "
        f"{f.replies_unknown:,} unknown, {f.replies_pending:,} pending",
        f"Sent in all      {f.sms_sent:,} SMS ({plural(f.parts_sent, 'part')}) incl. alerts "
        "and manual",
        f"Blocked          {plural(f.blocked_numbers, 'number')} "
        f"({f.auto_blocked_numbers:,} automatically)",
        f"Now              {'paused' if stats.paused else 'replying'}{_regime_now(stats)}",
        f"Cloud line cost  {stats.cloud_cost_avoided:,.2f} {stats.currency} avoided "
        f"({f.inbound_parts + f.parts_sent:,} SMS parts x {price}); this line sent "
        f"{f.parts_sent:,} parts on its SIM plan",
        "",
    ]
    if stats.figures.decisions:
        by_count = sorted(stats.figures.decisions.items(), key=lambda item: (-item[1], item[0]))
        lines.append(table(["decision", "messages"], by_count))
    else:
        lines.append("No decisions in this period.")
    for start, end in stats.attacks:
        lines.append(f"Attack           {local_time(start)} to {local_time(end) if end else 'now'}")
    if stats.campaigns:
        lines += ["", "Largest campaigns (near-identical texts from several numbers)"]
        lines.append(
            table(
                ["id", "senders", "messages", "from", "to", "text"],
                [
                    (c.id, c.senders, c.messages, c.first_at, c.last_at, c.text or "(erased)")
                    for c in stats.campaigns
                ],
                wrap_last=50,
            )
        )
    lines += ["", traffic_chart(stats.hourly, unicode=unicode)]
    return "\n".join(lines)


def _regime_now(stats: Stats) -> str:
    if stats.attack_mode:
        return ", ATTACK under way (new numbers held, campaigns ignored)"
    return ", FLOOD MODE (replies suspended)" if stats.flood_mode else ""


#: How `doctor` marks each level of finding.
_DOCTOR_MARKS = {"ok": "ok", "info": "--", "warning": "!!", "problem": "XX"}


def doctor_text(report: Report) -> str:
    """`anti-relous doctor` for a person: one line per finding, its fix indented below."""
    lines = []
    for finding in report.findings:
        # Findings quote the dongle, sysfs, process names and the config: shown, not obeyed.
        message = visible(finding.message)
        lines.append(f"[{_DOCTOR_MARKS[finding.level]}] {visible(finding.topic):<13} {message}")
        if finding.fix and finding.level in ("warning", "problem"):
            lines.append(f"{'':<19}fix: {visible(finding.fix)}")
    problems = len(report.problems)
    warnings = sum(f.level == "warning" for f in report.findings)
    lines.append("")
    lines.append(f"{plural(problems, 'problem')}, {plural(warnings, 'warning')}")
    return "\n".join(lines)


def doctor_json(report: Report) -> dict[str, Any]:
    """`doctor --json`: the findings in order, and how many are problems."""
    return {"findings": jsonable(report.findings), "problems": len(report.problems)}


#: Each line of a text shown in full starts with this, so no line of it can pass for a header.
TEXT_INDENT = "  | "


def message_text(row: MessageRow, text: str) -> str:
    """One inbound message in full (`inbox --id`, `inbox --full`): its fields, then its text
    with its line breaks, every line of it marked as quoted."""
    sender = row.sender or row.sender_raw or "-"
    lines = [
        f"Message {row.id}, received {local_time(row.received_at, seconds=True)}, "
        f"from {visible(sender)}",
    ]
    if row.sender_raw is not None and row.sender_raw != sender:
        lines.append(f"  sent as   {visible(row.sender_raw)}")
    detail = f": {visible(row.detail)}" if row.detail else ""
    lines.append(f"  decision  {row.reason or 'undecided'}{detail}")
    lines.append(f"  reply     {row.reply_state or 'none'}")
    lines.append(f"  parts     {row.parts} ({row.kind})")
    lines += [TEXT_INDENT + line for line in visible(text, newline="\n").split("\n")]
    return "\n".join(lines)
