"""What the admin CLI does beyond single store calls: the line's status, manual sends, init.

The CLI is another process than the daemon (DESIGN section 3): it reads what the daemon
published in the store, and writes pauses, blocks and queued SMS there for the daemon's next
decision or send. Nothing here prints; the CLI renders what these functions return.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anti_relous.coding import text_info
from anti_relous.config import Config, QuotaConfig, parse_duration
from anti_relous.errors import AntiRelousError
from anti_relous.store import Caps, Store
from anti_relous.store.reports import Activity, HourRow, Summary

if TYPE_CHECKING:
    from anti_relous.modem import Modem

#: The service account and group of systemd/sysusers.d/anti-relous.conf.
SERVICE_USER = "anti-relous"
SERVICE_GROUP = "anti-relous"
#: The config holds the SIM PIN: root writes it, the service group reads it, others nothing.
CONFIG_FILE_MODE = 0o640
#: A daemon silent for this many health intervals is considered gone (crashed, killed -9).
STALE_AFTER_HEALTH_INTERVALS = 3
#: Past this many parts the reply is expensive for every answered texter (DESIGN section 6).
MAX_COMFORTABLE_REPLY_PARTS = 2

_CLOCK_TIME = re.compile(r"(\d{1,2}):(\d{2})")


class AdminError(AntiRelousError):
    """An operator request that cannot be carried out; the message says what to do instead."""


# --- times typed by operators --------------------------------------------------------------------


def system_local(naive: datetime) -> datetime:
    """A naive wall-clock time in the machine's zone, with that date's offset (DST included)."""
    return naive.astimezone()


def parse_moment(
    text: str,
    now: datetime,
    *,
    ahead: bool,
    localize: Callable[[datetime], datetime] = system_local,
) -> datetime:
    """Read a time typed on the command line; times without an offset are local (``localize``).

    Accepts ISO 8601 (``2026-11-28``, ``2026-11-28T18:30``, ``...+01:00``, ``...Z``) and ``HH:MM``
    — the next such time when ``ahead`` (``pause --until 08:00`` at night means tomorrow),
    the last one otherwise. When not ``ahead``, a duration (``24h``) means that long ago.
    Raises ValueError with the accepted forms.
    """
    text = text.strip()
    clock = _CLOCK_TIME.fullmatch(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"{text!r} is not a time of day; write HH:MM such as 08:30")
        today = now.date()
        moment = localize(datetime.combine(today, time(hour, minute)))
        if ahead and moment <= now:
            moment = localize(datetime.combine(today + timedelta(days=1), time(hour, minute)))
        elif not ahead and moment > now:
            moment = localize(datetime.combine(today - timedelta(days=1), time(hour, minute)))
        return moment
    if not ahead:
        with contextlib.suppress(ValueError):
            return now - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        forms = "HH:MM, 2026-11-28 or 2026-11-28T18:30"
        if not ahead:
            forms += ", or a duration ago such as 24h"
        raise ValueError(f"{text!r} is not a time; write {forms}") from None
    return localize(moment) if moment.tzinfo is None else moment


def local_now() -> datetime:
    """The wall clock in the machine's zone, for what operators type and read."""
    return datetime.now(UTC).astimezone()


# --- what the daemon published -------------------------------------------------------------------


@dataclass(frozen=True)
class DaemonInfo:
    """Whether a daemon is serving the line, from what it last published."""

    running: bool
    #: Why not, in words, when not running.
    why_not: str | None
    state: str | None = None
    status: str | None = None
    pid: int | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists (of any user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it just belongs to someone else (the service user)
    except OSError:
        return False
    return True


def daemon_info(
    published: tuple[Any, datetime] | None,
    now: datetime,
    health_interval: timedelta,
    *,
    alive: Callable[[int], bool] = pid_alive,
) -> DaemonInfo:
    """Judge the daemon's row: absent, stopped, its pid gone, or silent too long = not running.

    ``alive(pid) -> bool`` is asked only about the published pid.
    """
    if published is None:
        return DaemonInfo(False, "no daemon has ever run on this database")
    value, updated_at = published
    if not isinstance(value, dict):
        return DaemonInfo(False, "the daemon's published state is unreadable")
    state = value.get("state")
    pid = value.get("pid") if isinstance(value.get("pid"), int) else None
    started = value.get("started_at")
    info = DaemonInfo(
        running=True,
        why_not=None,
        state=state,
        status=value.get("status"),
        pid=pid,
        started_at=datetime.fromisoformat(started) if isinstance(started, str) else None,
        updated_at=updated_at,
    )
    silent = now - updated_at
    if state == "stopped":
        why = "the daemon stopped"
    elif pid is not None and not alive(pid):
        why = f"the daemon (pid {pid}) is gone without saying so (crash or kill -9)"
    elif silent > health_interval * STALE_AFTER_HEALTH_INTERVALS:
        why = f"the daemon has published nothing for {format_age(silent)} (hung or killed?)"
    else:
        return info
    return DaemonInfo(False, why, info.state, info.status, pid, info.started_at, updated_at)


@dataclass(frozen=True)
class ModemInfo:
    """The modem as the daemon last saw it."""

    identity: dict[str, Any] | None
    health: dict[str, Any] | None
    error: str | None
    updated_at: datetime


def modem_info(published: tuple[Any, datetime] | None) -> ModemInfo | None:
    """What the daemon published about the modem, or None if it never did."""
    if published is None or not isinstance(published[0], dict):
        return None
    value, updated_at = published
    return ModemInfo(value.get("identity"), value.get("health"), value.get("error"), updated_at)


def format_age(delta: timedelta) -> str:
    """``42 s``, ``5 min``, ``3 h 20 min``, ``2 d 4 h``."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


# --- the line's status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CapUse:
    """One global cap: SMS counted against it and its limit."""

    name: str
    used: int
    limit: int
    #: SMS the line may still queue under this cap.
    remaining: int


def cap_uses(caps: Caps, quota: QuotaConfig) -> list[CapUse]:
    """The four global caps of ``quota`` with their current use."""
    return [
        CapUse(name, used, limit, max(0, limit - used))
        for name, used, limit in (
            ("hour", caps.last_hour, quota.replies_per_hour),
            ("day", caps.last_day, quota.replies_per_day),
            ("month", caps.this_month, quota.replies_per_month),
            ("recipients", caps.recipients_this_month, quota.recipients_per_month),
        )
    ]


@dataclass(frozen=True)
class ReplyInfo:
    """How the configured reply travels."""

    coding: str
    characters: int
    parts: int
    description: str

    @property
    def expensive(self) -> bool:
        """More parts than a texter (and the line's plan) should pay for one explanation."""
        return self.parts > MAX_COMFORTABLE_REPLY_PARTS


def reply_info(text: str) -> ReplyInfo:
    """Encoding and part count of ``text`` as the line would send it."""
    info = text_info(text)
    return ReplyInfo(info.coding, info.characters, info.parts, info.describe())


def reply_warning(reply: ReplyInfo) -> str | None:
    """The advice to shorten the reply, when it costs more than two parts."""
    if not reply.expensive:
        return None
    hint = " (a character outside GSM-7 made it UCS-2)" if reply.coding == "ucs2" else ""
    return (
        f"the reply takes {reply.parts} SMS parts{hint}: every answered texter costs "
        f"{reply.parts} SMS; shorten [line] reply"
    )


@dataclass(frozen=True)
class LineStatus:
    """Everything ``anti-relous status`` shows."""

    paused: bool
    paused_until: datetime | None
    pause_reason: str | None
    flood_mode: bool
    flood_since: datetime | None
    daemon: DaemonInfo
    modem: ModemInfo | None
    today: Activity
    this_hour: Activity
    queue: int
    caps: list[CapUse]
    reply: ReplyInfo
    reply_warning: str | None


def line_status(store: Store, config: Config, now: datetime) -> LineStatus:
    """Read the line's state, what the daemon published and today's counts.

    ``now`` is the machine's local time: "today" and "this hour" are the operator's.
    """
    line = store.line.state()
    # Midnight may have had another offset than now (a DST change today): localise it afresh.
    day_start = system_local(datetime.combine(now.date(), time()))
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    reply = reply_info(config.line.reply)
    paused = line.is_paused(now)
    return LineStatus(
        paused=paused,
        paused_until=line.paused_until if paused else None,
        pause_reason=line.pause_reason if paused else None,
        flood_mode=line.in_flood,
        flood_since=line.flood_since,
        daemon=daemon_info(store.line.daemon_state("daemon"), now, config.schedule.health_interval),
        modem=modem_info(store.line.daemon_state("modem")),
        today=store.reports.activity_since(day_start),
        this_hour=store.reports.activity_since(hour_start),
        queue=store.outbox.queued_count(),
        caps=cap_uses(store.decisions.caps(now), config.quota),
        reply=reply,
        reply_warning=reply_warning(reply),
    )


@dataclass(frozen=True)
class Stats:
    """Everything ``anti-relous stats`` shows: the store's figures for the period, the line's
    state now, and what a cloud line would have charged."""

    since: datetime | None
    until: datetime | None
    figures: Summary
    paused: bool
    flood_mode: bool
    cloud_price_per_sms: float
    currency: str
    #: What a cloud SMS service would have charged for this traffic: every inbound part and
    #: every part sent. This line pays none of it per SMS.
    cloud_cost_avoided: float
    hourly: list[HourRow]


def stats(
    store: Store, config: Config, now: datetime, since: datetime | None, until: datetime | None
) -> Stats:
    """The figures of one period (None: unbounded) and its hour-by-hour traffic."""
    figures = store.reports.summary(since, until)
    line = store.line.state()
    price = config.cost.cloud_price_per_sms
    return Stats(
        since=since,
        until=until,
        figures=figures,
        paused=line.is_paused(now),
        flood_mode=line.in_flood,
        cloud_price_per_sms=price,
        currency=config.cost.currency,
        cloud_cost_avoided=round(price * (figures.inbound_parts + figures.parts_sent), 2),
        hourly=store.reports.hourly(since, until),
    )


# --- manual sends --------------------------------------------------------------------------------


_CAP_ADJECTIVES = {"hour": "hourly", "day": "daily", "month": "monthly"}


def manual_send_problem(uses: list[CapUse], new_recipient: bool) -> str | None:
    """The cap one more SMS would exceed, in words, or None."""
    for use in uses:
        if use.used + 1 <= use.limit:
            continue
        if use.name != "recipients":
            adjective = _CAP_ADJECTIVES[use.name]
            return f"it would exceed the {adjective} cap ({use.used} of {use.limit} SMS)"
        if new_recipient:
            return (
                f"a new recipient would exceed recipients_per_month ({use.used} of "
                f"{use.limit} distinct numbers this month)"
            )
    return None


def queue_manual(
    store: Store,
    config: Config,
    number: str,
    text: str,
    parts: int,
    now: datetime,
    *,
    force: bool = False,
) -> int:
    """Queue a manual SMS (it counts against the caps from now on); returns its outbox id.

    Raises AdminError naming the cap it would exceed, unless ``force``.
    """
    with store.transaction():
        uses = cap_uses(store.decisions.caps(now), config.quota)
        new_recipient = not store.reports.is_recipient_this_month(number, now)
        problem = manual_send_problem(uses, new_recipient)
        if problem and not force:
            raise AdminError(f"not sent: {problem}; wait, or add --force to send it anyway")
        return store.outbox.enqueue(now, "manual", number, text, parts)


def send_queued_now(
    store: Store,
    modem: Modem,
    item_id: int,
    number: str,
    text: str,
    parts: int,
    clock: Callable[[], datetime],
) -> list[int]:
    """Send the queued SMS ``item_id`` through an opened ``modem``, at most once.

    Returns the message references. A modem error is recorded on the row (failed when no part
    can have left, unknown otherwise: never resent) and raised again.
    """
    from anti_relous.modem.errors import ModemError, SendFailed

    store.outbox.mark_sending(item_id, clock())
    try:
        refs = modem.send(number, text, reference=item_id % 256)
    except ModemError as error:
        parts_sent = error.parts_sent if isinstance(error, SendFailed) else None
        if parts_sent == 0 or (parts_sent is None and parts == 1):
            store.outbox.mark_failed(item_id, clock(), str(error))
        else:
            store.outbox.mark_unknown(item_id, clock(), str(error))
        raise
    store.outbox.mark_sent(item_id, clock(), refs)
    return refs


@dataclass(frozen=True)
class ManualSend:
    """What became of a manual SMS: queued for the running daemon, or sent now."""

    item_id: int
    reply: ReplyInfo
    #: Set when the running daemon will send it.
    daemon_pid: int | None = None
    #: Set when it was sent now, through ``port``.
    refs: list[int] | None = None
    port: str | None = None


def send_manual(
    store: Store,
    config: Config,
    number: str,
    text: str,
    clock: Callable[[], datetime],
    *,
    force: bool = False,
) -> ManualSend:
    """Queue a manual SMS within the caps; send it now through the modem if no daemon runs.

    Raises AdminError past a cap (unless ``force``) and the modem's errors; a modem that cannot
    be opened leaves the SMS failed, not queued for a daemon started days later to send.
    """
    from anti_relous.modem import open_modem
    from anti_relous.modem.errors import ModemError

    info = reply_info(text)
    daemon = daemon_info(
        store.line.daemon_state("daemon"), clock(), config.schedule.health_interval
    )
    item_id = queue_manual(store, config, number, text, info.parts, clock(), force=force)
    if daemon.running:
        return ManualSend(item_id, info, daemon_pid=daemon.pid)
    modem = open_modem(config.modem)
    try:
        modem.open()
    except ModemError as error:
        store.outbox.mark_failed(item_id, clock(), f"not sent, modem unavailable: {error}")
        raise
    try:
        refs = send_queued_now(store, modem, item_id, number, text, info.parts, clock)
    finally:
        modem.close()
    return ManualSend(item_id, info, refs=refs, port=modem.port)


# --- init ----------------------------------------------------------------------------------------


def example_config() -> str:
    """The commented example configuration shipped with the package."""
    from importlib import resources

    return resources.files("anti_relous").joinpath("config.example.toml").read_text("utf-8")


def config_text(database: Path | None) -> str:
    """The example configuration, with ``[storage] database`` set to ``database`` if given."""
    text = example_config()
    if database is None:
        return text
    line = re.compile(r'^database = ".*"$', re.MULTILINE)
    if not line.search(text):  # pragma: no cover - the example always has the line
        raise AdminError("the example configuration lost its [storage] database line")
    return line.sub(lambda _: f"database = {_toml_string(str(database))}", text, count=1)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def service_ids() -> tuple[int | None, int | None]:
    """(uid, gid) of the anti-relous service account, None where it does not exist."""
    try:
        uid: int | None = pwd.getpwnam(SERVICE_USER).pw_uid
    except KeyError:
        uid = None
    try:
        gid: int | None = grp.getgrnam(SERVICE_GROUP).gr_gid
    except KeyError:
        gid = None
    return uid, gid


def write_config(path: Path, text: str, *, force: bool) -> str | None:
    """Write ``text`` at ``path`` with mode 0640; returns the group given to it, if any.

    Run as root, the file goes to group anti-relous (when it exists) so the service can read it.
    Refuses to replace an existing file unless ``force``.
    """
    if path.exists() and not force:
        raise AdminError(f"{path} already exists: keep it, or add --force to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, CONFIG_FILE_MODE)
        try:
            os.fchmod(fd, CONFIG_FILE_MODE)  # the umask trimmed it, or the file was older
            group = None
            _, gid = service_ids()
            if os.geteuid() == 0 and gid is not None:
                os.fchown(fd, -1, gid)
                group = SERVICE_GROUP
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
    except PermissionError:
        raise AdminError(
            f"permission denied writing {path}: run as root (sudo) or choose another --path"
        ) from None
    except OSError as error:
        raise AdminError(f"cannot write {path}: {error.strerror or error}") from None
    return group


def create_database(path: Path) -> bool:
    """Create (0660) and migrate the database; returns False if it already existed.

    Run as root, it is handed to the service account so the daemon can write it.
    """
    existed = path.exists()
    Store.open(path, create=True).close()
    uid, gid = service_ids()
    if os.geteuid() == 0 and not existed and uid is not None:
        os.chown(path, uid, gid if gid is not None else -1)
    return not existed
