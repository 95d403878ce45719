"""The decision step: assess the attack regime, then decide each stored message and record it
with its reply, in one transaction.

The one place where the pure policy meets the store; it never touches the modem, so tests and
benchmarks drive it on a bare database. The line (service.py) calls it after each drain pass, at
start and at housekeeping; the replay reaches it through the line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from anti_relous import alerts, policy
from anti_relous.alerts import AlertRules
from anti_relous.coding import text_info
from anti_relous.config import Config
from anti_relous.numbers import mask
from anti_relous.policy import Decision, Reason, Rules, regime
from anti_relous.remote import AdminSettings, handle_admin_sms
from anti_relous.sms import InboundSms
from anti_relous.store import PlannedSms, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Texts:
    """What the line sends, with the part counts the caps and reports need."""

    reply: str
    reply_parts: int

    @classmethod
    def from_config(cls, config: Config) -> Texts:
        """The configured reply, measured by the codec."""
        return cls(reply=config.line.reply, reply_parts=text_info(config.line.reply).parts)


def decide_pending(
    store: Store,
    rules: Rules,
    texts: Texts,
    now: datetime,
    *,
    limit: int = 1000,
    admin: AdminSettings | None = None,
    alert_rules: AlertRules | None = None,
) -> list[tuple[InboundSms, Decision]]:
    """Assess the attack regime, then decide every stored message that is due (oldest first),
    all in one transaction.

    Each decision is recorded with the SMS it enqueues; a crash anywhere leaves the remaining
    messages undecided, to be decided on the next call, never twice. A held message has a
    provisional decision until its hold ends, then is decided like the others. An admin
    command (with ``admin`` settings) is obeyed and confirmed instead of going through the policy.
    """
    decided = []
    with store.transaction():
        line = store.line.state()
        traffic = store.decisions.traffic(rules, now)
        assessment = regime.assess(line, traffic, rules, now)
        store.decisions.apply(assessment, now)
        _log_regime(assessment)
        if alert_rules is not None:
            _tell_the_operators(store, line, assessment, traffic, rules, alert_rules, now)
        for message in store.inbound.undecided(now, limit):
            obeyed = handle_admin_sms(store, message, admin, now) if admin else None
            if obeyed is not None:
                store.decisions.record(message, obeyed.decision, now)
                decided.append((message, obeyed.decision))
                continue
            decision = decide_message(store, message, rules, texts, now)
            decided.append((message, decision))
    return decided


def decide_message(
    store: Store, message: InboundSms, rules: Rules, texts: Texts, now: datetime
) -> Decision:
    """Decide one stored message and record it (inside the caller's transaction, if any)."""
    if message.undecodable:
        decision = Decision(
            False, Reason.UNDECODABLE, "the PDU could not be decoded; kept raw as evidence"
        )
    else:
        usage = store.decisions.usage(message, rules, now)
        decision = policy.decide(message, usage, rules, now)
    reply = None
    if decision.reply and message.sender.e164:
        reply = PlannedSms(message.sender.e164, texts.reply, texts.reply_parts)
    store.decisions.record(message, decision, now, reply=reply)
    _log_decision(message, decision)
    return decision


def _tell_the_operators(
    store: Store,
    line: policy.LineState,
    assessment: regime.Assessment,
    traffic: regime.Traffic,
    rules: Rules,
    alert_rules: AlertRules,
    now: datetime,
) -> None:
    """An attack (or flood mode) starting or ending is an alert, within its rate limit, and only
    if it fits under every cap (replies keep room for one; a flapping attack may find none)."""
    muted = rules.mode is not policy.Mode.ENFORCE
    if assessment.acting is regime.Change.ENTER:
        alert = alerts.attack_started(
            now, traffic.inbound_total, rules.flood_window, traffic.first_contacts, muted=muted
        )
    elif assessment.acting is regime.Change.EXIT:
        start = (line.flood_since if muted else line.attack_since) or now
        figures = store.reports.summary(start, now)
        alert = alerts.attack_ended(start, now, figures.inbound_messages, figures.senders)
    else:
        return
    if _alerts_fit(store, rules, now):
        store.alerts.raise_alert(alert, alert_rules, now)
    else:
        log.warning("%s alert not sent: it would break a cap", alert.kind.value)


def _alerts_fit(store: Store, rules: Rules, now: datetime) -> bool:
    """One SMS to every alert number stays within every cap and the recipients limit."""
    caps = store.outbox.caps(now)
    count = len(rules.alert_numbers)
    new = store.decisions.new_alert_numbers(rules, now)
    return (
        caps.last_hour + count <= rules.replies_per_hour
        and caps.last_day + count <= rules.replies_per_day
        and caps.this_month + count <= rules.replies_per_month
        and caps.recipients_this_month + new <= rules.recipients_per_month
    )


def _log_regime(assessment: regime.Assessment) -> None:
    for state, change in (("flood mode", assessment.flood), ("attack", assessment.attack)):
        if change is regime.Change.ENTER:
            log.warning("%s started: %s", state, assessment.detail)
        elif change is regime.Change.EXIT:
            log.warning("%s over: every trigger below its threshold for the cooldown", state)


def _log_decision(message: InboundSms, decision: Decision) -> None:
    # A flood produces thousands of identical suppressions: those go to DEBUG, and the poll
    # logs one summary line; what an operator acts on (replies, blocks, flood edges) is INFO+.
    sender = mask(message.sender.key)
    if decision.reason is Reason.REPLIED:
        log.info("message %d from %s: reply queued", message.id, sender)
    elif decision.reason is Reason.ABUSE_BLOCK:
        log.warning("message %d from %s: sender blocked, %s", message.id, sender, decision.detail)
    elif decision.reason is Reason.HELD:
        log.debug("message %d from %s: held, %s", message.id, sender, decision.detail)
    else:
        log.debug("message %d from %s: no reply, %s", message.id, sender, decision.reason)
