"""The pure reply policy: from a message, the store's counts and the time, reply or not, and why.

No I/O and no clock here: the store gathers a ``Usage`` snapshot, ``decide`` returns a
``Decision`` (with the state changes it implies), and the store records both in one transaction.
``regime`` says when the line is under attack; ``campaigns`` groups near-identical texts.
Imports: ``config``, ``sms`` and pure helpers (``campaigns`` on RapidFuzz); never ``store``,
``modem``, ``clock`` or an entry point (tests/test_imports.py holds it).

The rules, in order (the first that applies gives the reason):

1. ``paused``, ``blocked``, ``destination_filtered``, ``abuse_block``: as they always were.
2. With ``[attack] mode = "off"``: ``flood`` mutes everyone while the inbound rate is too high.
3. ``campaign`` (the text is near-identical to other senders' texts: under attack, or new
   numbers opening with it within the hour) and ``number_block`` (under attack, the sender's
   block of 10,000 numbers is sending from many numbers): suppressed; a long campaign once
   found stays one for a day. Allowlisted senders skip these and everything attack-related
   below.
4. ``number_quota``: the sender already had its replies.
5. ``held``: under attack, a sender new to the line waits ``[attack] hold`` (not final), so that
   a campaign or a burst shows itself before anything is answered.
6. ``hourly_cap``, ``daily_cap``, ``monthly_cap``, ``recipients_cap``: as they always were.
7. ``paced``: under attack, a new sender is answered only from a new-senders budget (one for
   a single SMS, one for people writing again after a human pause), never one bursting SMS
   within seconds, so no attack spends the month.
8. ``replied``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from anti_relous.config import format_duration
from anti_relous.policy.model import (
    Block,
    CampaignUsage,
    Decision,
    LineState,
    Mode,
    Reason,
    Rules,
    SenderHistory,
    Usage,
)
from anti_relous.policy.regime import PEOPLE_BUDGET_FACTOR, budget_level
from anti_relous.sms import InboundSms, NumberKind

__all__ = [
    "BURST_GAP",
    "PROOF_GAP",
    "Block",
    "CampaignUsage",
    "Decision",
    "LineState",
    "Mode",
    "Reason",
    "Rules",
    "SenderHistory",
    "Usage",
    "decide",
]

#: SMS at least this far apart show a person typing again.
PROOF_GAP = timedelta(seconds=20)
#: SMS closer than this are a machine's burst: nobody types, sends and types again so fast.
BURST_GAP = timedelta(seconds=5)


def decide(message: InboundSms, usage: Usage, rules: Rules, now: datetime) -> Decision:
    """Apply the rules in order; the first that applies gives the reason."""
    if rules.mode is Mode.ENFORCE:
        return _decide(message, usage, rules, now, attack_rules=True)
    decision = _decide(message, usage, rules, now, attack_rules=False)
    if rules.mode is Mode.SHADOW:
        would = _decide(message, usage, rules, now, attack_rules=True)
        if would.reason is not decision.reason:
            # Found campaigns are recorded (state, not action), so later shadows see them.
            decision = replace(decision, shadow=would.reason, flag_campaign=would.flag_campaign)
    return decision


def _decide(
    message: InboundSms, usage: Usage, rules: Rules, now: datetime, *, attack_rules: bool
) -> Decision:
    line = usage.line
    if line.is_paused(now):
        until = f" until {line.paused_until.isoformat()}" if line.paused_until else ""
        return _no(Reason.PAUSED, f"line paused{until}: {line.pause_reason or 'no reason given'}")
    if usage.block is not None and usage.block.active(now):
        return _no(Reason.BLOCKED, _describe_block(usage.block))
    filtered = _destination_problem(message, rules)
    if filtered:
        return _no(Reason.DESTINATION_FILTERED, filtered)
    if usage.inbound_from_sender > rules.max_inbound_per_number:
        return Decision(
            False,
            Reason.ABUSE_BLOCK,
            f"{usage.inbound_from_sender} SMS in {_span(rules.abuse_window)}, limit "
            f"{rules.max_inbound_per_number}: blocked for {_span(rules.block_duration)}",
            block_until=now + rules.block_duration,
        )
    if not attack_rules and line.in_flood:
        return _no(Reason.FLOOD, f"flood mode since {line.flood_since:%H:%M}: replies suspended")
    sender = usage.sender
    guarded = attack_rules and not sender.allowed
    if guarded:
        attack = usage.arrived_under_attack or line.under_attack
        suppressed = _suppression(usage, rules, now, under_attack=attack)
        if suppressed is not None:
            return suppressed
    if usage.replies_to_sender >= rules.replies_per_number:
        return _no(
            Reason.NUMBER_QUOTA,
            f"already {usage.replies_to_sender} SMS sent to this number in "
            f"{_span(rules.number_window)}, limit {rules.replies_per_number}",
        )
    scrutinised = guarded and usage.arrived_under_attack and _new_sender(sender)
    proven = _proven(sender)
    # Every SMS of a new sender waits, its second one too: otherwise two quick SMS would be a
    # way around the second look.
    if scrutinised and usage.held_at is None:
        hold_until = message.received_at + rules.hold
        if hold_until > now:
            return Decision(
                False,
                Reason.HELD,
                f"new sender during an attack: held {_span(rules.hold)} for a second look",
                hold_until=hold_until,
            )
    cap = _cap_reached(usage, rules)
    if cap:
        return _no(*cap)
    recipients = usage.recipients_this_month + usage.alert_numbers_new_this_month
    if not usage.sender_is_recipient_this_month and recipients >= rules.recipients_per_month:
        kept = usage.alert_numbers_new_this_month
        return _no(
            Reason.RECIPIENTS_CAP,
            f"{usage.recipients_this_month} distinct numbers answered this month, limit "
            f"{rules.recipients_per_month}" + (f" ({kept} kept for alerts)" if kept else ""),
        )
    held = f"held {_span(now - usage.held_at)}, then " if usage.held_at is not None else ""
    if scrutinised and _bursting(sender):
        return _no(
            Reason.PACED,
            f"{held}new sender during an attack sending {sender.arrivals} SMS, some within "
            f"seconds of each other: a bot's rhythm, not answered",
        )
    if scrutinised and not usage.sender_is_recipient_this_month:
        return _from_budget(line, rules, now, proven=proven, held=held)
    return Decision(True, Reason.REPLIED, "first message within the quotas")


def _from_budget(
    line: LineState, rules: Rules, now: datetime, *, proven: bool, held: str
) -> Decision:
    """A new sender under attack is answered from a new-senders budget: one for a single SMS,
    one for people who wrote again after a human pause, so that bots writing like people cannot
    spend what strangers writing once need, nor the month."""
    level = budget_level(line, rules, now, people=proven)
    who = "a person writing again" if proven else "a single SMS"
    if level < 1:
        factor = PEOPLE_BUDGET_FACTOR if proven else 1
        return _no(
            Reason.PACED,
            f"{held}new sender during an attack ({who}): the budget of "
            f"{factor * rules.new_senders_burst} replies "
            f"(+{factor * rules.new_senders_per_day} a day) is spent",
        )
    return Decision(
        True,
        Reason.REPLIED,
        f"{held}{who}, answered from the new-senders budget ({level - 1:.0f} left)",
        pace_tokens=level - 1,
        people=proven,
    )


def _no(reason: Reason, detail: str) -> Decision:
    return Decision(False, reason, detail)


def _suppression(
    usage: Usage, rules: Rules, now: datetime, *, under_attack: bool
) -> Decision | None:
    """Campaign members and bursting number blocks get nothing.

    Under attack, a campaign is alike texts from ``campaign_senders`` numbers within
    ``campaign_window`` (short texts: ``short_campaign_senders`` within the hour); outside one,
    only new numbers opening with the same long text within the hour (many people write alike
    over a day, or in their second SMS). A SIM farm
    is looked for under attack only. A long campaign once found stays one for
    ``campaign_window``, so the next wave of a raid finds it waiting.
    """
    campaign = usage.campaign
    if campaign is not None:
        flagged = (
            not campaign.short
            and campaign.flagged_at is not None
            and now - campaign.flagged_at < rules.campaign_window
        )
        if campaign.short:
            # Short texts are what many people write: only a burst during an attack counts.
            found = under_attack and campaign.senders_last_hour >= rules.short_campaign_senders
            figures = f"{campaign.senders_last_hour} senders in the last hour"
        elif under_attack:
            found = campaign.senders >= rules.campaign_senders
            figures = f"{campaign.senders} senders in {_span(rules.campaign_window)}"
        else:
            # Outside an attack, alike texts are a coincidence (people answered before write
            # "je me suis trompé de numéro ?" too), unless new numbers open with the same text
            # within the hour: the start of one.
            found = campaign.new_senders_last_hour >= rules.campaign_senders
            figures = f"{campaign.new_senders_last_hour} new numbers in the last hour"
        if flagged or found:
            return Decision(
                False,
                Reason.CAMPAIGN,
                f"campaign #{campaign.id}: the same text from {figures}"
                if found
                else f"campaign #{campaign.id}, found {campaign.flagged_at:%Y-%m-%d %H:%M}",
                flag_campaign=found and not flagged and not campaign.short,
            )
    if under_attack and usage.sender.block_senders >= rules.block_senders:
        return _no(
            Reason.NUMBER_BLOCK,
            f"{usage.sender.block_senders} numbers of this block (all but the last 4 digits) "
            f"texted within {_span(rules.campaign_window)}, limit {rules.block_senders - 1}",
        )
    return None


def _new_sender(sender: SenderHistory) -> bool:
    """Neither answered before nor first seen outside an attack."""
    return not sender.answered_before and sender.first_seen_under_attack


def _proven(sender: SenderHistory) -> bool:
    """Several SMS, each after a human pause: a person writing, not a bot bursting."""
    return sender.arrivals >= 2 and sender.min_gap is not None and sender.min_gap >= PROOF_GAP


def _bursting(sender: SenderHistory) -> bool:
    """Two SMS within a few seconds of each other: a machine's rhythm."""
    return sender.arrivals >= 2 and sender.min_gap is not None and sender.min_gap < BURST_GAP


def _cap_reached(usage: Usage, rules: Rules) -> tuple[Reason, str] | None:
    """The first global cap one more reply would break, room being kept under each.

    Replies leave room for one alert to each alert number (otherwise the bot replies sent before
    an attack is noticed would use up the hour, and the operators would never hear of it), and
    for the unused part of the admin confirmations' share, at most half of the cap.
    """
    alerts = len(rules.alert_numbers)
    admin_hour = max(0, rules.admin_reserve_per_hour - usage.admin_sent_last_hour)
    admin_day = max(0, rules.admin_reserve_per_day - usage.admin_sent_last_day)
    for count, limit, admin, reason, span in (
        (usage.sent_last_hour, rules.replies_per_hour, admin_hour, Reason.HOURLY_CAP,
         "the last hour"),
        (usage.sent_last_day, rules.replies_per_day, admin_day, Reason.DAILY_CAP,
         "the last 24 hours"),
        (usage.sent_this_month, rules.replies_per_month, admin_day, Reason.MONTHLY_CAP,
         "this month"),
    ):  # fmt: skip
        reserve = alerts + min(admin, limit // 2)
        if count + reserve >= limit:
            kept = f" ({reserve} kept for alerts and admin SMS)" if reserve else ""
            return reason, f"{count} SMS sent in {span}, cap {limit}{kept}"
    return None


def _destination_problem(message: InboundSms, rules: Rules) -> str | None:
    sender = message.sender
    if sender.kind is not NumberKind.MOBILE:
        return f"sender is {sender.kind.value.replace('_', ' ')}, only mobiles are answered"
    if rules.own_number and sender.e164 == rules.own_number:
        return "sender claims to be the line's own number"
    if sender.region not in rules.allowed_regions:
        allowed = ", ".join(sorted(rules.allowed_regions))
        return f"sender's region {sender.region} is not in allowed_regions ({allowed})"
    return None


def _describe_block(block: Block) -> str:
    what = f"prefix {block.target}" if block.is_prefix else "number"
    how = "automatically" if block.automatic else "manually"
    until = f" until {block.until.isoformat()}" if block.until else ""
    return f"{what} blocked {how}{until}: {block.reason or 'no reason given'}"


def _span(delta: timedelta) -> str:
    return format_duration(delta)
