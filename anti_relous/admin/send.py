"""Manual SMS: queued within the caps, sent by the daemon or, without one, now and at most once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from anti_relous.admin import AdminError
from anti_relous.admin.liveness import daemon_info
from anti_relous.admin.status import CapUse, ReplyInfo, cap_uses, reply_info
from anti_relous.config import Config
from anti_relous.store import Store

if TYPE_CHECKING:
    from anti_relous.modem import Modem


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
        uses = cap_uses(store.outbox.caps(now), config.quota)
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
    clock: Callable[[], datetime],
) -> list[int]:
    """Send the queued SMS ``item_id`` through an opened ``modem``, at most once.

    Returns the message references. A send failure is recorded on the row by the daemon's rule
    (``send_outcome``: failed when no part can have left, unknown otherwise, never resent) and
    raised again; the operator, who is there, decides whether to try again.
    """
    from anti_relous.modem.errors import ModemError, SendOutcome, send_outcome

    store.outbox.mark_sending(item_id, clock())
    try:
        refs = modem.send(number, text, reference=item_id % 256)
    except ModemError as error:
        if send_outcome(error) is SendOutcome.IN_DOUBT:
            store.outbox.mark_unknown(item_id, clock(), str(error))
        else:
            store.outbox.mark_failed(item_id, clock(), str(error))
        raise
    store.outbox.mark_sent(item_id, clock(), refs)
    return refs


def recipient_warnings(store: Store, number: str, region: str, now: datetime) -> list[str]:
    """What the operator should know before texting ``number`` (E.164): a block in force on
    it, or a kind of number that may not receive SMS. Warnings, not refusals: they are there."""
    from anti_relous.clock import format_moment
    from anti_relous.numbers import classify
    from anti_relous.sms import NumberKind

    warnings = []
    block = store.line.block_on(number, now)
    if block is not None:
        until = f" until {format_moment(block.until)}" if block.until else ""
        warnings.append(
            f"{number} is blocked ({block.reason}){until}: the line does not answer it; this "
            "SMS leaves all the same"
        )
    if classify(number, region).kind is NumberKind.FIXED_LINE:
        warnings.append(f"{number} is a fixed line: it may not receive SMS")
    return warnings


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
    from anti_relous.link import PinMemory, open_remembering
    from anti_relous.modem import open_modem
    from anti_relous.modem.errors import ModemError

    info = reply_info(text)
    daemon = daemon_info(
        store.line.daemon_state("daemon"), clock(), config.schedule.health_interval
    )
    item_id = queue_manual(store, config, number, text, info.parts, clock(), force=force)
    if daemon.running:
        return ManualSend(item_id, info, daemon_pid=daemon.pid)
    # Opened as the daemon opens it: a PIN the SIM rejected is not entered again.
    memory = PinMemory(store.line, config.modem.pin) if config.modem.pin else None
    modem = open_modem(config.modem)
    try:
        open_remembering(modem, memory)
    except ModemError as error:
        store.outbox.mark_failed(item_id, clock(), f"not sent, modem unavailable: {error}")
        raise
    try:
        refs = send_queued_now(store, modem, item_id, number, text, clock)
    finally:
        modem.close()
    return ManualSend(item_id, info, refs=refs, port=modem.port)
