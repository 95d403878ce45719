"""The admin SMS channel: commands from ``[admin] numbers``, proven by a code, obeyed and
confirmed in the same transaction as the message's decision.

``handle_admin_sms`` is the one entry point: the decision loop calls it for each new message
before the policy. None means "not an admin command, decide as usual", and that is also the
answer for a stranger, a wrong code, a replayed code or a locked channel: nothing a sender gets
back tells an attacker that the channel exists. Wrong codes from admin numbers are counted;
``max_failures`` of them within ``failure_window`` lock the channel and alert the operators.

Confirmations (outbox kind ``admin``) leave despite the caps within a reserved share
(``reserve_per_hour``, ``reserve_per_day``) and count against the caps like any SMS; past the
share a command is still obeyed, without confirmation. Imports: ``store``, ``alerts``, ``policy``
(the decision's value types) and the pure helpers; never ``service``, ``modem`` or the tools.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from anti_relous import alerts
from anti_relous.alerts import AlertRules
from anti_relous.coding import text_info
from anti_relous.config import Config, format_duration
from anti_relous.numbers import mask, normalise
from anti_relous.policy import Decision, Reason
from anti_relous.remote import answers
from anti_relous.remote.codes import matching_step, pin_matches
from anti_relous.remote.commands import Command, Verb, parse
from anti_relous.sms import InboundSms
from anti_relous.store import Credential, Store

__all__ = ["AdminOutcome", "AdminSettings", "Verb", "handle_admin_sms"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdminSettings:
    """The ``[admin]`` settings and what the answers need from the rest of the configuration."""

    numbers: frozenset[str] = frozenset()
    code_window: timedelta = timedelta(minutes=5)
    max_failures: int = 5
    failure_window: timedelta = timedelta(hours=1)
    lock_duration: timedelta = timedelta(hours=1)
    reserve_per_hour: int = 6
    reserve_per_day: int = 24
    region: str = "FR"
    hourly_cap: int = 60
    daily_cap: int = 300
    alerts: AlertRules = field(default_factory=AlertRules)
    #: The zone times are written in (None: the machine's).
    tz: tzinfo | None = None

    @classmethod
    def from_config(cls, config: Config) -> AdminSettings:
        """The settings ``config`` describes."""
        admin = config.admin
        return cls(
            numbers=frozenset(admin.numbers),
            code_window=admin.code_window,
            max_failures=admin.max_failures,
            failure_window=admin.failure_window,
            lock_duration=admin.lock_duration,
            reserve_per_hour=admin.reserve_per_hour,
            reserve_per_day=admin.reserve_per_day,
            region=config.line.default_region,
            hourly_cap=config.quota.replies_per_hour,
            daily_cap=config.quota.replies_per_day,
            alerts=AlertRules.from_config(config),
        )


@dataclass(frozen=True)
class AdminOutcome:
    """An obeyed admin command: what to record as the message's decision."""

    verb: Verb
    #: For the decision's detail: what was done, by whom (masked), and the confirmation's fate.
    detail: str
    #: The outbox row of the confirmation, None when the reserved share was used up.
    confirmation_id: int | None

    @property
    def decision(self) -> Decision:
        """The message's decision: no public reply, reason ``admin``."""
        return Decision(False, Reason.ADMIN, self.detail)


def handle_admin_sms(
    store: Store, message: InboundSms, settings: AdminSettings, now: datetime
) -> AdminOutcome | None:
    """Obey ``message`` if it is an admin command with a valid code; None otherwise.

    Runs inside the caller's transaction (or its own): the state change, the confirmation and
    the failure count commit with the caller's decision.
    """
    number = message.sender.e164
    if message.undecodable or number is None or number not in settings.numbers:
        return None
    command = parse(message.text)
    if command is None:
        return None
    with store.transaction():
        if store.remote.locked_until(now) is not None:
            log.warning("message %d: admin command ignored, the channel is locked", message.id)
            return None
        credential = store.remote.credential(number)
        if credential is None:
            log.warning(
                "message %d: admin command from %s, which has not enrolled: run "
                "`anti-relous admin enroll`",
                message.id,
                mask(number),
            )
            return None
        if command.verb is not Verb.HELP and not _code_accepted(
            store, credential, command, message, settings
        ):
            _count_failure(store, number, message, settings, now)
            return None
        answer, done = _carry_out(store, command, number, settings, now)
        confirmation = _confirm(store, number, answer, settings, now)
    if confirmation is None:
        fate = (
            f"no confirmation: the admin reserve ({settings.reserve_per_hour} an hour, "
            f"{settings.reserve_per_day} a day) is used up"
        )
    else:
        fate = f"confirmation queued (outbox {confirmation})"
    detail = f"admin {command.verb.value} by SMS from {mask(number)}: {done}; {fate}"
    log.info("message %d: %s", message.id, detail)
    return AdminOutcome(command.verb, detail, confirmation)


def _code_accepted(
    store: Store,
    credential: Credential,
    command: Command,
    message: InboundSms,
    settings: AdminSettings,
) -> bool:
    code = command.code or ""
    if credential.kind == "pin":
        return pin_matches(credential.secret, code)
    step = matching_step(
        credential.secret, code, message.received_at, settings.code_window, credential.last_step
    )
    if step is None:
        return False
    store.remote.use_step(credential.number, step)
    return True


def _count_failure(
    store: Store, number: str, message: InboundSms, settings: AdminSettings, now: datetime
) -> None:
    failures = store.remote.add_failure(now, number, message.id, now - settings.failure_window)
    log.warning(
        "message %d: wrong or replayed admin code from %s (%d of %d within %s)",
        message.id,
        mask(number),
        failures,
        settings.max_failures,
        format_duration(settings.failure_window),
    )
    if failures < settings.max_failures:
        return
    until = now + settings.lock_duration
    store.remote.lock(now, until, failures)
    alert = alerts.admin_locked(failures, until, settings.tz)
    store.alerts.raise_alert(alert, settings.alerts, now)
    log.error("admin SMS channel locked until %s after %d wrong codes", until.isoformat(), failures)


def _carry_out(
    store: Store, command: Command, number: str, settings: AdminSettings, now: datetime
) -> tuple[str, str]:
    """Do what ``command`` asks; returns (the answer SMS, what was done for the record)."""
    verb, tz = command.verb, settings.tz
    if command.problem is not None:
        return answers.malformed(verb, command.problem), f"not done ({command.problem})"
    by = f"by SMS from {mask(number)}"
    if verb is Verb.PAUSE:
        until = now + command.duration if command.duration else None
        store.line.pause(now, until, by)
        span = f" for {format_duration(command.duration)}" if command.duration else ""
        return answers.paused(until, command.duration, now, tz), f"line paused{span}"
    if verb is Verb.RESUME:
        was_paused = store.line.resume(now)
        return answers.resumed(was_paused), "line resumed" if was_paused else "was not paused"
    if verb is Verb.STATUS:
        return answers.status(_snapshot(store, settings, now), now, tz), "status sent"
    if verb is Verb.HELP:
        return answers.help_text(), "help sent"
    target = normalise(command.target or "", settings.region)
    if target is None:
        return answers.bad_number(command.target or ""), "not done (not a phone number)"
    if verb is Verb.BLOCK:
        until = now + command.duration if command.duration else None
        store.line.block(now, target, is_prefix=False, until=until, reason=by)
        return answers.blocked(target, until, now, tz), f"{mask(target)} blocked"
    added = store.line.allow(now, target, reason=by)
    return answers.allowed(target, already=not added), f"{mask(target)} allowlisted"


def _confirm(
    store: Store, number: str, answer: str, settings: AdminSettings, now: datetime
) -> int | None:
    """Queue the confirmation if the reserved share allows it."""
    hour = store.remote.sent_since(now - timedelta(hours=1))
    day = store.remote.sent_since(now - timedelta(days=1))
    if hour >= settings.reserve_per_hour or day >= settings.reserve_per_day:
        return None
    return store.outbox.enqueue(now, "admin", number, answer, text_info(answer).parts)


def _snapshot(store: Store, settings: AdminSettings, now: datetime) -> answers.LineSnapshot:
    line = store.line.state()
    caps = store.outbox.caps(now)
    published = store.line.daemon_state("modem")
    modem = published[0] if published and isinstance(published[0], dict) else None
    health = modem.get("health") if modem else None
    health = health if isinstance(health, dict) else {}
    return answers.LineSnapshot(
        paused=line.is_paused(now),
        paused_until=line.paused_until,
        flood=line.in_flood,
        modem_ok=None if modem is None else modem.get("error") is None and bool(health),
        signal_dbm=health.get("signal_dbm"),
        sim_used=health.get("storage_used"),
        sim_total=health.get("storage_total"),
        inbound_last_hour=store.decisions.inbound_in_window(now, timedelta(hours=1)),
        sent_last_hour=caps.last_hour,
        hourly_cap=settings.hourly_cap,
        sent_last_day=caps.last_day,
        daily_cap=settings.daily_cap,
        queued=store.outbox.queued_count(),
    )
