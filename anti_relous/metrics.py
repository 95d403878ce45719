"""Prometheus metrics as a node_exporter textfile: counters equal to `stats --json` over the whole
history, gauges of the line now (queue, SIM, signal, flood, pause, caps).

The systemd unit has no network, so nothing listens: the daemon rewrites ``[metrics] textfile``
every health interval and node_exporter's textfile collector serves it. prometheus_client does
the exposition format; the file is replaced whole (``os.replace``), never read half-written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from anti_relous.config import Config
from anti_relous.modem import Health
from anti_relous.store import Store, Tally
from anti_relous.store.reports import Summary

PREFIX = "anti_relous"
#: node_exporter runs as its own user: the file must be world-readable, whatever the unit's
#: UMask (0007, which keeps the database from other users) would give it.
TEXTFILE_MODE = 0o644


@dataclass(frozen=True)
class LineMetrics:
    """Everything the textfile holds, gathered at one moment."""

    figures: Summary
    queue: int
    paused: bool
    flood: bool
    modem_up: bool
    database_ok: bool
    admin_locked: bool
    health: Health | None
    #: (cap name, SMS counted against it, its limit): hour, day, month, recipients.
    caps: tuple[tuple[str, int, int], ...]


def gather(
    store: Store,
    config: Config,
    now: datetime,
    tally: Tally,
    *,
    health: Health | None,
    modem_up: bool,
    database_ok: bool,
) -> LineMetrics:
    """The whole history's figures from ``tally`` (advanced by the caller: they equal
    `stats --json`) and the line's state now."""
    line = store.line.state()
    caps = store.outbox.caps(now)
    quota = config.quota
    return LineMetrics(
        figures=store.tallies.summary(tally),
        queue=store.outbox.queued_count(),
        paused=line.is_paused(now),
        flood=line.in_flood,
        modem_up=modem_up,
        database_ok=database_ok,
        admin_locked=store.remote.locked_until(now) is not None,
        health=health,
        caps=(
            ("hour", caps.last_hour, quota.replies_per_hour),
            ("day", caps.last_day, quota.replies_per_day),
            ("month", caps.this_month, quota.replies_per_month),
            ("recipients", caps.recipients_this_month, quota.recipients_per_month),
        ),
    )


class _Snapshot(Collector):
    """A collector that yields one ``LineMetrics`` (the registry asks it once per write)."""

    def __init__(self, metrics: LineMetrics):
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m, f = self._metrics, self._metrics.figures

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            return CounterMetricFamily(f"{PREFIX}_{name}", doc, value=value)

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value)

        yield counter("inbound_messages", "Inbound messages (long SMS whole).", f.inbound_messages)
        yield counter("inbound_parts", "Inbound PDUs stored.", f.inbound_parts)
        decisions = CounterMetricFamily(
            f"{PREFIX}_decisions", "Messages decided, by reason.", labels=["reason"]
        )
        for reason, count in sorted(f.decisions.items()):
            decisions.add_metric([reason], count)
        yield decisions
        replies = CounterMetricFamily(
            f"{PREFIX}_replies", "Replies by final state.", labels=["state"]
        )
        for state, count in (
            ("sent", f.replies_sent),
            ("failed", f.replies_failed),
            ("unknown", f.replies_unknown),
        ):
            replies.add_metric([state], count)
        yield replies
        yield counter("sms_sent", "SMS the modem accepted (replies, alerts...).", f.sms_sent)
        yield counter("sms_parts_sent", "SMS parts the modem accepted.", f.parts_sent)
        yield counter("blocked_numbers", "Numbers blocked (distinct).", f.blocked_numbers)
        yield gauge("replies_pending", "Replies queued or being sent.", f.replies_pending)
        yield gauge("queue_length", "SMS waiting in the outbox.", m.queue)
        yield gauge("paused", "1 while the line is paused.", int(m.paused))
        yield gauge("flood_mode", "1 in flood mode.", int(m.flood))
        yield gauge("modem_up", "1 while the modem answers.", int(m.modem_up))
        yield gauge("database_up", "1 while the database accepts writes.", int(m.database_ok))
        yield gauge("admin_locked", "1 while the admin SMS channel is locked.", int(m.admin_locked))
        health = m.health
        if health is not None:
            for name, doc, value in (
                ("sim_slots_used", "SMS slots used on the SIM.", health.storage_used),
                ("sim_slots_total", "SMS slots on the SIM.", health.storage_total),
                ("signal_dbm", "Signal strength in dBm.", health.signal_dbm),
            ):
                if value is not None:
                    yield gauge(name, doc, value)
        used = GaugeMetricFamily(
            f"{PREFIX}_cap_used", "SMS counted against each global cap.", labels=["cap"]
        )
        limit = GaugeMetricFamily(f"{PREFIX}_cap_limit", "Each global cap.", labels=["cap"])
        for name, count, cap in m.caps:
            used.add_metric([name], count)
            limit.add_metric([name], cap)
        yield used
        yield limit


def render(metrics: LineMetrics) -> bytes:
    """The exposition text (prometheus_client's), ready for node_exporter."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(metrics))
    return generate_latest(registry)


def write_textfile(path: Path, metrics: LineMetrics) -> None:
    """Replace ``path`` with the metrics, whole.

    Not ``prometheus_client.write_to_textfile``: it writes through a predictable temporary name
    (a link planted in a shared directory would be followed) and leaves the file with the
    unit's UMask, unreadable to node_exporter. Here the temporary file has a random name
    (O_EXCL), gets mode 0644, and is renamed over ``path``. Raises OSError.
    """
    data = render(metrics)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), TEXTFILE_MODE)
        Path(name).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(name).unlink()
        raise
