"""When the line is under attack, and the budget it answers new senders from meanwhile (pure).

The regime is assessed once per poll, before that poll's messages are decided, from what the
store counted as of now (pending long-SMS parts included, from their arrival): a burst of 300
SMS read in one pass is judged as the burst it is, and fragments that never complete count.

Two states, so that ``[attack] mode = "shadow"`` can act as today's line while recording what
the attack regime would have done:

* flood mode (``mode = "off"``/``"shadow"``): the inbound rate above ``[flood] threshold``;
  every reply is muted until it stays below for ``[flood] cooldown``;
* an attack (``mode = "enforce"``/``"shadow"``): the inbound rate above the same threshold, or
  more new senders than ``[attack] first_contacts`` within ``first_contact_window`` (a swarm, a
  drip) or than ``burst_contacts`` within ``burst_window`` (a raid's first minutes); it ends
  once every trigger has stayed below for ``[flood] cooldown``. It mutes nobody: new senders
  are held and re-checked, campaigns suppressed, the budget for new senders paced.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from anti_relous.config import format_duration
from anti_relous.lazyclass import frozen_dataclass
from anti_relous.policy.model import LineState, Mode, Rules


@frozen_dataclass
class Traffic:
    """What the store counted for the regime, as of now."""

    #: Messages and pending long SMS from everyone within ``flood_window``.
    inbound_total: int
    #: Senders whose first arrival falls within ``first_contact_window``, within
    #: ``burst_window``, and within ``RECENT_CONTACTS`` (whether a stream of them goes on).
    first_contacts: int
    burst_contacts: int = 0
    recent_contacts: int = 0
    #: Campaigns found within ``burst_window``: alike texts from several numbers at once.
    campaigns_found: int = 0


#: The window over which new senders keep an attack going (see ``assess``).
RECENT_CONTACTS = timedelta(hours=1)


class Change(enum.StrEnum):
    """How one assessment moves a state."""

    ENTER = "enter"
    #: Still above a threshold: remember when, so the cooldown starts later.
    STILL_ABOVE = "still_above"
    EXIT = "exit"


@frozen_dataclass
class Assessment:
    """The moves of both states, and why."""

    flood: Change | None = None
    attack: Change | None = None
    #: The triggers above their thresholds, for the event log ("212 SMS in 10m, threshold 200").
    detail: str = ""
    #: How the state the line acts on moved (flood mode with ``mode = "off"``, else the
    #: attack): what the operators are told of.
    acting: Change | None = None


def assess(line: LineState, traffic: Traffic, rules: Rules, now: datetime) -> Assessment:
    """Where the regime goes given ``traffic`` at ``now``."""
    rate_above = traffic.inbound_total > rules.flood_threshold
    contacts_above = traffic.first_contacts > rules.first_contacts
    if line.under_attack:
        # Staying above is judged on the last hour, at half the rate that starts an attack:
        # three hours after a swarm its numbers still fill the window, yet it is over; a slow
        # drip that dips for a while is not.
        contacts_above = traffic.recent_contacts > rules.first_contacts * (
            RECENT_CONTACTS / rules.first_contact_window / 2
        )
    burst_above = traffic.burst_contacts > rules.burst_contacts
    campaign_found = traffic.campaigns_found > 0
    reasons = []
    if rate_above:
        reasons.append(
            f"{traffic.inbound_total} SMS in {format_duration(rules.flood_window)}, "
            f"threshold {rules.flood_threshold}"
        )
    if contacts_above and not line.under_attack:
        reasons.append(
            f"{traffic.first_contacts} new senders in "
            f"{format_duration(rules.first_contact_window)}, threshold {rules.first_contacts}"
        )
    if burst_above:
        reasons.append(
            f"{traffic.burst_contacts} new senders in {format_duration(rules.burst_window)}, "
            f"threshold {rules.burst_contacts}"
        )
    if campaign_found:
        reasons.append(f"a campaign found in the last {format_duration(rules.burst_window)}")
    flood = attack = None
    if rules.mode is not Mode.ENFORCE:
        flood = _move(line.flood_since, line.flood_last_above, rate_above, rules, now)
    if rules.mode is not Mode.OFF:
        above = rate_above or contacts_above or burst_above or campaign_found
        attack = _move(line.attack_since, line.attack_last_above, above, rules, now)
    # The operators hear of what the line acts on: flood mode when it mutes, else the attack.
    acting = attack if rules.mode is Mode.ENFORCE else flood
    return Assessment(flood, attack, "; ".join(reasons), acting)


def _move(
    since: datetime | None, last_above: datetime | None, above: bool, rules: Rules, now: datetime
) -> Change | None:
    if above:
        return Change.STILL_ABOVE if since is not None else Change.ENTER
    if since is not None and now - (last_above or since) >= rules.flood_cooldown:
        return Change.EXIT
    return None


# --- the new-senders budget ------------------------------------------------------------------


#: People writing again after a human pause get this many times the budget of a single SMS:
#: they are the texters the line exists for, and bots rarely take the trouble.
PEOPLE_BUDGET_FACTOR = 2


def budget_level(line: LineState, rules: Rules, now: datetime, *, people: bool = False) -> float:
    """A new-senders budget at ``now``: a token bucket of ``new_senders_burst`` tokens refilled at
    ``new_senders_per_day``, full when never used; ``people``: the one for people writing again,
    ``PEOPLE_BUDGET_FACTOR`` times as large."""
    tokens, at = (
        (line.people_tokens, line.people_at) if people else (line.pace_tokens, line.pace_at)
    )
    factor = PEOPLE_BUDGET_FACTOR if people else 1
    capacity = float(rules.new_senders_burst * factor)
    if tokens is None or at is None:
        return capacity
    elapsed = max(now - at, timedelta(0))
    refill = factor * rules.new_senders_per_day * elapsed / timedelta(days=1)
    return min(capacity, tokens + refill)
