"""What the daemon tells the operators unasked, at each health check: alerts (outages, a full SIM,
caps reached, the daily digest) and the metrics textfile.

Runs on the worker thread, called by ``LineService.check_health``. Alerts go through the outbox
like any SMS (``store.alerts``), except "database failing": the outbox lives in the failing
database, so that one leaves straight through the modem and is recorded once the database works
again. Nothing here raises: a failure is logged and the line carries on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from anti_relous import alerts, metrics
from anti_relous.alerts import Alert, AlertKind, AlertRules, Observation, Watch
from anti_relous.config import Config
from anti_relous.modem import Health, Modem
from anti_relous.modem.errors import ModemError
from anti_relous.store import Store, StoreError, Tally

log = logging.getLogger(__name__)

#: A long history is counted for the metrics this many chunks (of 100,000 messages, 80 ms each
#: at 5,000,000: benchmarks/metrics.py) per health check, so the first checks stay short.
CHUNKS_PER_CHECK = 4
#: The reasons of decisions that mean "a global cap stopped a reply".
CAP_REASONS = tuple(alerts.CAP_NAMES)


class Monitor:
    """Alerts and metrics for one running line."""

    def __init__(self, store: Store, config: Config, started_at: datetime) -> None:
        self.store = store
        self.watch = Watch()
        self._caps_checked_at = started_at
        #: Alerts sent straight through the modem while the database failed, to record.
        self._unrecorded: list[tuple[Alert, datetime, dict[str, list[int]]]] = []
        self._metrics_error: str | None = None
        #: The history counted so far for the metrics (counted once, not at every check).
        self._tally = Tally()
        self.apply_config(config)

    def apply_config(self, config: Config) -> None:
        """Take a (re)loaded configuration."""
        self.config = config
        self.rules = AlertRules.from_config(config)

    def check(
        self, now: datetime, *, modem: Modem | None, health: Health | None, database_ok: bool
    ) -> None:
        """Raise what the health check calls for; rewrite the metrics textfile."""
        seen = Observation(
            modem_up=modem is not None,
            database_ok=database_ok,
            sim_used=health.storage_used if health else None,
            sim_total=health.storage_total if health else None,
        )
        if database_ok:
            # What left while the database failed goes on record before what follows it.
            try:
                self._record_direct()
            except StoreError as error:
                log.warning("alerts sent during the database outage not recorded yet: %s", error)
        for alert in self.watch.observe(seen, now, self.rules):
            self._raise(alert, now, modem)
        if database_ok:
            try:
                self._cap_alerts(now)
                if self.watch.digest_due(now, self.rules):
                    self._raise(self._digest(now, modem is not None), now, modem)
            except StoreError as error:
                log.warning("alerts not checked: %s", error)
        self._write_metrics(now, health, modem is not None, database_ok)

    def _raise(self, alert: Alert, now: datetime, modem: Modem | None) -> None:
        try:
            when = self.store.alerts.raise_alert(alert, self.rules, now)
        except StoreError as error:
            if alert.kind is AlertKind.DATABASE_ERROR:
                self._send_direct(alert, now, modem)
            else:
                log.error("could not queue the %s alert: %s", alert.kind.value, error)
            return
        if when is None:
            log.info("%s alert not sent (rate limit, or no [alerts] numbers)", alert.kind.value)
        elif when > now:
            log.info("%s alert held until the quiet hours end", alert.kind.value)
        else:
            log.warning("%s alert queued: %s", alert.kind.value, alert.text)

    def _send_direct(self, alert: Alert, now: datetime, modem: Modem | None) -> None:
        if modem is None or not self.rules.numbers:
            log.error("%s alert cannot leave: no modem and no database", alert.kind.value)
            return
        refs: dict[str, list[int]] = {}
        for number in self.rules.numbers:
            try:
                refs[number] = modem.send(number, alert.text, reference=0)
            except ModemError as error:
                log.error("%s alert not sent: %s", alert.kind.value, error)
                break
        if refs:
            log.warning(
                "%s alert sent straight through the modem to %d number(s)",
                alert.kind.value,
                len(refs),
            )
            self._unrecorded.append((alert, now, refs))

    def _record_direct(self) -> None:
        while self._unrecorded:
            alert, sent_at, refs = self._unrecorded[0]
            self.store.alerts.record_sent(alert, self.rules, sent_at, refs)
            self._unrecorded.pop(0)

    def _cap_alerts(self, now: datetime) -> None:
        """One alert per cap that stopped a reply since the last check (under min_interval)."""
        hits = self.store.alerts.decisions_since(self._caps_checked_at, CAP_REASONS)
        self._caps_checked_at = now
        if not hits:
            return
        caps = self.store.outbox.caps(now)
        quota = self.config.quota
        figures = {
            "hourly_cap": (caps.last_hour, quota.replies_per_hour),
            "daily_cap": (caps.last_day, quota.replies_per_day),
            "monthly_cap": (caps.this_month, quota.replies_per_month),
            "recipients_cap": (caps.recipients_this_month, quota.recipients_per_month),
        }
        for reason in hits:
            used, limit = figures[reason]
            self._raise(alerts.cap_reached(reason, used, limit), now, None)

    def _digest(self, now: datetime, modem_up: bool) -> Alert:
        figures = self.store.reports.summary(now - timedelta(days=1), None)
        line = self.store.line.state()
        return alerts.digest(
            alerts.Digest(
                inbound=figures.inbound_messages,
                senders=figures.senders,
                replies=figures.replies_sent + figures.replies_pending,
                blocked=figures.blocked_numbers,
                flood=line.in_flood,
                paused=line.is_paused(now),
                modem_ok=modem_up,
                queued=self.store.outbox.queued_count(),
            )
        )

    def _write_metrics(
        self, now: datetime, health: Health | None, modem_up: bool, database_ok: bool
    ) -> None:
        if not self.config.metrics.textfile:
            return
        path = Path(self.config.metrics.textfile)
        try:
            if not any(self.store.tallies.advance(self._tally) for _ in range(CHUNKS_PER_CHECK)):
                log.info("metrics: counting the history, %d messages so far", self._tally.upto)
                return
            gathered = metrics.gather(
                self.store,
                self.config,
                now,
                self._tally,
                health=health,
                modem_up=modem_up,
                database_ok=database_ok,
            )
            metrics.write_textfile(path, gathered)
        except (StoreError, OSError) as error:
            # Not str(error): an OSError names the random temporary file, new at each try.
            problem = error.strerror or str(error) if isinstance(error, OSError) else str(error)
            if problem != self._metrics_error:
                log.warning("metrics textfile %s not written: %s", path, problem)
            self._metrics_error = problem
            return
        if self._metrics_error is not None:
            log.info("metrics textfile %s written again", path)
            self._metrics_error = None
