"""Alerts to ``[alerts] numbers``: which, their one-part French text, their rate limit, quiet hours.

Pure: no store, no modem, no wall clock. ``Watch`` turns what the daemon observes at each health
check (modem up, SIM slots, database usable) into alerts, once per outage; ``when_to_send``
applies an alert's rate limit and the quiet hours; the store queues what it allows
(``store.alerts.raise_alert``). Every text is one GSM-7 SMS part (``coding.one_gsm7_part``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from anti_relous.coding import one_gsm7_part
from anti_relous.config import Config, format_duration

#: How often the digest may go out (a restart after it was sent must not send it again).
DIGEST_INTERVAL = timedelta(hours=20)
#: The digest goes out within this long after its hour (not at 15:00 after a day's outage).
DIGEST_LATENESS = timedelta(hours=1)


class AlertKind(enum.StrEnum):
    """What happened. The urgent ones ignore quiet hours."""

    ATTACK_START = "attack_start"
    ATTACK_END = "attack_end"
    MODEM_LOST = "modem_lost"
    MODEM_BACK = "modem_back"
    SIM_FULL = "sim_full"
    DATABASE_ERROR = "database_error"
    DATABASE_BACK = "database_back"
    CAP_REACHED = "cap_reached"
    ADMIN_LOCKED = "admin_locked"
    DIGEST = "digest"

    @property
    def urgent(self) -> bool:
        """Worth waking someone: the line is deaf, failing, or under attack."""
        return self in _URGENT


_URGENT = frozenset(
    {
        AlertKind.ATTACK_START,
        AlertKind.MODEM_LOST,
        AlertKind.DATABASE_ERROR,
        AlertKind.ADMIN_LOCKED,
    }
)
#: Kinds whose repetition is bounded by ``[alerts] min_interval`` (per key). The others come in
#: pairs once per outage (``Watch``), or once per lock, so they need no interval of their own.
_RATE_LIMITED = frozenset({AlertKind.ATTACK_START, AlertKind.ATTACK_END, AlertKind.CAP_REACHED})


@dataclass(frozen=True)
class Alert:
    """One alert: its kind, its one-part text, and the key its rate limit is counted by."""

    kind: AlertKind
    text: str
    #: Rate-limit key: the kind, or the kind and what it is about ("cap_reached:hour").
    key: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", one_gsm7_part(self.text))
        if not self.key:
            object.__setattr__(self, "key", self.kind.value)


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local time (possibly across midnight) when non-urgent alerts wait."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """``"23:00-07:00"`` (validated by the config), or None for ``""``."""
        if not text:
            return None
        start, _, end = text.partition("-")
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    def end_after(self, now: datetime, tz: tzinfo | None = None) -> datetime | None:
        """The end of the quiet span ``now`` falls in (aware, in ``tz``), or None outside one.

        ``tz`` defaults to the machine's zone: quiet hours are the operators' night.
        """
        local = now.astimezone(tz)
        clock = local.timetz().replace(tzinfo=None)
        if self.start == self.end:
            return None
        overnight = self.start > self.end
        inside = (
            (clock >= self.start or clock < self.end)
            if overnight
            else (self.start <= clock < self.end)
        )
        if not inside:
            return None
        day = local.date()
        if overnight and clock >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=local.tzinfo)


@dataclass(frozen=True)
class AlertRules:
    """The ``[alerts]`` settings, read once per configuration."""

    numbers: tuple[str, ...] = ()
    min_interval: timedelta = timedelta(hours=1)
    quiet: QuietHours | None = None
    modem_lost_after: timedelta = timedelta(minutes=10)
    sim_full_after: timedelta = timedelta(minutes=10)
    database_after: timedelta = timedelta(minutes=2)
    digest: time | None = None
    #: The zone quiet hours and the digest hour are read in (None: the machine's).
    tz: tzinfo | None = None

    @classmethod
    def from_config(cls, config: Config) -> AlertRules:
        """The rules ``config`` describes."""
        alerts = config.alerts
        return cls(
            numbers=alerts.numbers,
            min_interval=alerts.min_interval,
            quiet=QuietHours.parse(alerts.quiet),
            modem_lost_after=alerts.modem_lost_after,
            sim_full_after=alerts.sim_full_after,
            database_after=alerts.database_after,
            digest=time.fromisoformat(alerts.digest) if alerts.digest else None,
        )


def when_to_send(
    alert: Alert, last_at: datetime | None, now: datetime, rules: AlertRules
) -> datetime | None:
    """When ``alert`` may leave: ``now``, the end of the quiet hours, or None (not at all).

    None when nobody is to be told, or when the same key was raised less than its interval
    ago (``min_interval`` for floods and caps, ``DIGEST_INTERVAL`` for the digest).
    """
    if not rules.numbers:
        return None
    interval = (
        DIGEST_INTERVAL
        if alert.kind is AlertKind.DIGEST
        else rules.min_interval
        if alert.kind in _RATE_LIMITED
        else None
    )
    if interval is not None and last_at is not None and now - last_at < interval:
        return None
    if alert.kind.urgent or rules.quiet is None:
        return now
    return rules.quiet.end_after(now, rules.tz) or now


# --- the texts (French, one GSM-7 part: é è à ù but no ç ê â î ô û; at most 160 characters) ---


def _hhmm(moment: datetime, tz: tzinfo | None) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def _span(delta: timedelta) -> str:
    """``15 min``, ``2h10``, ``3j``: short French durations for SMS."""
    minutes = max(0, int(delta.total_seconds()) // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}" if minutes else f"{hours}h"
    return f"{hours // 24}j"


def attack_started(
    since: datetime,
    inbound: int,
    window: timedelta,
    senders: int,
    tz: tzinfo | None = None,
    *,
    muted: bool = False,
) -> Alert:
    """An attack began (``muted``: flood mode, every reply suspended, ``[attack] mode = off``)."""
    regime = "Réponses suspendues" if muted else "Inconnus en attente, campagnes ignorées"
    return Alert(
        AlertKind.ATTACK_START,
        f"anti-relous : attaque depuis {_hhmm(since, tz)}, {inbound} SMS en "
        f"{format_duration(window)}, {senders} nouveaux numéros. {regime}. Tout est enregistré.",
    )


def attack_ended(
    start: datetime, end: datetime, inbound: int, senders: int, tz: tzinfo | None = None
) -> Alert:
    """The attack regime ended, with its totals."""
    return Alert(
        AlertKind.ATTACK_END,
        f"anti-relous : attaque finie à {_hhmm(end, tz)} après {_span(end - start)} : "
        f"{inbound} SMS de {senders} numéros, tous enregistrés. Réponses normales.",
    )


def modem_lost(since: datetime, now: datetime, tz: tzinfo | None = None) -> Alert:
    """The modem has not answered since ``since``."""
    return Alert(
        AlertKind.MODEM_LOST,
        f"anti-relous : modem injoignable depuis {_hhmm(since, tz)} ({_span(now - since)}). "
        "Les SMS attendent dans le réseau. Vérifiez la clé USB.",
    )


def modem_back(since: datetime, now: datetime, tz: tzinfo | None = None) -> Alert:
    """The modem answers again after an outage that was alerted."""
    return Alert(
        AlertKind.MODEM_BACK,
        f"anti-relous : modem de retour à {_hhmm(now, tz)} après {_span(now - since)} "
        "d'absence. Les SMS en attente sont relevés.",
    )


def sim_full(used: int, total: int, since: datetime, now: datetime) -> Alert:
    """The SIM has stayed full: the daemon is not draining it."""
    return Alert(
        AlertKind.SIM_FULL,
        f"anti-relous : carte SIM pleine ({used}/{total}) depuis {_span(now - since)}, les "
        "nouveaux SMS attendent dans le réseau. anti-relous status",
    )


def database_error(since: datetime, now: datetime, tz: tzinfo | None = None) -> Alert:
    """The database has refused writes since ``since``."""
    return Alert(
        AlertKind.DATABASE_ERROR,
        f"anti-relous : la base de données refuse d'écrire depuis {_hhmm(since, tz)} "
        f"({_span(now - since)}). Les SMS restent sur la SIM. Voir journalctl -u anti-relous",
    )


def database_back(since: datetime, now: datetime, tz: tzinfo | None = None) -> Alert:
    """The database works again after an alerted outage."""
    return Alert(
        AlertKind.DATABASE_BACK,
        f"anti-relous : base de données de nouveau utilisable à {_hhmm(now, tz)} après "
        f"{_span(now - since)}. La SIM se vide.",
    )


#: The caps as the policy names them (reason codes) and as an SMS says them.
CAP_NAMES = {
    "hourly_cap": "horaire",
    "daily_cap": "journalier",
    "monthly_cap": "mensuel",
    "recipients_cap": "de destinataires du mois",
}


def cap_reached(reason: str, used: int, limit: int) -> Alert:
    """Replies stopped at a global cap (``reason`` is the policy's reason code)."""
    name = CAP_NAMES.get(reason, reason)
    return Alert(
        AlertKind.CAP_REACHED,
        f"anti-relous : plafond {name} atteint ({used}/{limit}), plus de réponses automatiques "
        "pour l'instant. Tout est enregistré.",
        key=f"{AlertKind.CAP_REACHED.value}:{reason}",
    )


def admin_locked(failures: int, until: datetime, tz: tzinfo | None = None) -> Alert:
    """Wrong codes locked the admin SMS channel."""
    return Alert(
        AlertKind.ADMIN_LOCKED,
        f"anti-relous : {failures} codes faux arrivés par SMS admin, commandes SMS bloquées "
        f"jusqu'à {_hhmm(until, tz)}. Si ce n'est pas vous : anti-relous admin enroll",
    )


@dataclass(frozen=True)
class Digest:
    """The figures of the daily digest."""

    inbound: int
    senders: int
    replies: int
    blocked: int
    flood: bool
    paused: bool
    modem_ok: bool
    queued: int


def digest(figures: Digest) -> Alert:
    """The daily one-part summary of the last 24 hours."""
    state = "en pause" if figures.paused else "attaque en cours" if figures.flood else "normale"
    return Alert(
        AlertKind.DIGEST,
        f"anti-relous 24h : {figures.inbound} SMS arrivés de {figures.senders} numéros, "
        f"{figures.replies} réponses, {figures.blocked} bloqués. Ligne {state}, modem "
        f"{'ok' if figures.modem_ok else 'injoignable'}, {figures.queued} en attente.",
    )


# --- watching outages -------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """What the daemon sees at a health check."""

    modem_up: bool
    database_ok: bool
    sim_used: int | None = None
    sim_total: int | None = None


@dataclass
class _Outage:
    """One thing going wrong: since when, and whether its alert was raised."""

    since: datetime | None = None
    alerted: bool = False

    def update(self, failing: bool, now: datetime, after: timedelta) -> str | None:
        """``"start"`` when the outage has lasted ``after``, ``"end"`` when an alerted one ends."""
        if failing:
            if self.since is None:
                self.since = now
            if not self.alerted and now - self.since >= after:
                self.alerted = True
                return "start"
            return None
        ended = "end" if self.alerted else None
        self.since, self.alerted = None, False
        return ended


@dataclass
class Watch:
    """Turns health observations into alerts: one when an outage has lasted long enough, one
    when it ends (only if the first was raised). Kept in memory by the daemon."""

    _modem: _Outage = field(default_factory=_Outage)
    _sim: _Outage = field(default_factory=_Outage)
    _database: _Outage = field(default_factory=_Outage)
    _digest_day: date | None = None

    def observe(self, seen: Observation, now: datetime, rules: AlertRules) -> list[Alert]:
        """The alerts ``seen`` at ``now`` calls for."""
        tz = rules.tz
        alerts = []
        modem_since = self._modem.since or now
        change = self._modem.update(not seen.modem_up, now, rules.modem_lost_after)
        if change == "start":
            alerts.append(modem_lost(modem_since, now, tz))
        elif change == "end":
            alerts.append(modem_back(modem_since, now, tz))
        full = (
            seen.sim_total is not None
            and seen.sim_used is not None
            and 0 < seen.sim_total <= seen.sim_used
        )
        sim_since = self._sim.since or now
        # Without the modem the SIM cannot be read: its last figures say nothing new.
        if seen.modem_up and self._sim.update(full, now, rules.sim_full_after) == "start":
            alerts.append(sim_full(seen.sim_used or 0, seen.sim_total or 0, sim_since, now))
        database_since = self._database.since or now
        change = self._database.update(not seen.database_ok, now, rules.database_after)
        if change == "start":
            alerts.append(database_error(database_since, now, tz))
        elif change == "end":
            alerts.append(database_back(database_since, now, tz))
        return alerts

    def digest_due(self, now: datetime, rules: AlertRules) -> bool:
        """True once a day, within ``DIGEST_LATENESS`` after the ``[alerts] digest`` hour."""
        if rules.digest is None:
            return False
        local = now.astimezone(rules.tz)
        start = datetime.combine(local.date(), rules.digest, tzinfo=local.tzinfo)
        if not start <= local < start + DIGEST_LATENESS or self._digest_day == local.date():
            return False
        self._digest_day = local.date()
        return True
