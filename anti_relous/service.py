"""The line itself: poll the SIM, ingest, delete, decide, enqueue; drain the outbox.

Collaborators (store, modem, rules, clock) are passed in; nothing here opens files or ports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from anti_relous import policy
from anti_relous.config import Config
from anti_relous.modem.pdu import text_info
from anti_relous.numbers import mask
from anti_relous.policy import Decision, Reason, Rules
from anti_relous.sms import InboundSms
from anti_relous.store import PlannedSms, Store

log = logging.getLogger(__name__)

#: Sent to [alerts] numbers when a flood starts. GSM-7 only, so it stays one part.
ALERT_TEXT = (
    "anti-relous : flood de SMS en cours, les réponses automatiques sont suspendues jusqu'au "
    "retour au calme. Tous les SMS restent enregistrés. Détails : anti-relous status"
)


@dataclass(frozen=True)
class Texts:
    """What the line sends, with the part counts the caps and reports need."""

    reply: str
    reply_parts: int
    alert: str = ALERT_TEXT
    alert_parts: int = 1

    @classmethod
    def from_config(cls, config: Config) -> Texts:
        """The configured reply and the built-in alert, measured by the codec."""
        return cls(
            reply=config.line.reply,
            reply_parts=text_info(config.line.reply).parts,
            alert=ALERT_TEXT,
            alert_parts=text_info(ALERT_TEXT).parts,
        )


def decide_pending(
    store: Store, rules: Rules, texts: Texts, now: datetime, *, limit: int = 1000
) -> list[tuple[InboundSms, Decision]]:
    """Decide every stored, undecided message (oldest first) in one transaction.

    Each decision is recorded with the SMS it enqueues; a crash anywhere leaves the remaining
    messages undecided, to be decided on the next call, never twice.
    """
    decided = []
    with store.transaction():
        for message in store.inbound.undecided(limit):
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
            alerts = tuple(
                PlannedSms(number, texts.alert, texts.alert_parts) for number in rules.alert_numbers
            )
            store.decisions.record(message, decision, now, reply=reply, alerts=alerts)
            decided.append((message, decision))
            _log_decision(message, decision)
    return decided


def _log_decision(message: InboundSms, decision: Decision) -> None:
    # A flood produces thousands of identical suppressions: those go to DEBUG, and the poll
    # logs one summary line; what an operator acts on (replies, blocks, flood edges) is INFO+.
    sender = mask(message.sender.key)
    if decision.flood in (policy.FloodChange.ENTER, policy.FloodChange.EXIT):
        log.warning("flood mode %s at message %d", decision.flood.value, message.id)
    if decision.reason is Reason.REPLIED:
        log.info("message %d from %s: reply queued", message.id, sender)
    elif decision.reason is Reason.ABUSE_BLOCK:
        log.warning("message %d from %s: sender blocked, %s", message.id, sender, decision.detail)
    else:
        log.debug("message %d from %s: no reply, %s", message.id, sender, decision.reason)
