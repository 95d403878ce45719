"""The line itself: poll the SIM, ingest, delete, decide, enqueue; drain the outbox.

Collaborators (store, modem link, configuration, clocks) are passed in; nothing here opens files
or ports, starts threads or handles signals. Every method runs on the daemon's single worker
thread, one at a time, so quota checks and their recording never race.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from anti_relous.clock import utc_now
from anti_relous.config import Config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.link import ModemLink
from anti_relous.modem import Health, MessageStatus, Modem, StoredMessage
from anti_relous.modem.errors import (
    AtError,
    CmsError,
    ModemError,
    SendFailed,
    SendOutcome,
    send_outcome,
)
from anti_relous.modem.pdu import decode_stored
from anti_relous.monitor import Monitor
from anti_relous.numbers import mask
from anti_relous.policy import Mode, Rules
from anti_relous.remote import AdminSettings
from anti_relous.sms import PartKind, ReceivedPart
from anti_relous.store import OutboxItem, Store, StoreError

log = logging.getLogger(__name__)

#: A +CMS ERROR before any part left is retried this many times in all, waiting 30 s, 60 s...
MAX_SEND_ATTEMPTS = 3
SEND_RETRY_BASE = timedelta(seconds=30)
#: Messages listed as received (the others are drafts or sent copies, never ours to touch).
_INBOUND_STATUSES = (MessageStatus.REC_UNREAD, MessageStatus.REC_READ)


@dataclass(frozen=True)
class PollResult:
    """What one drain pass did."""

    listed: int
    new_parts: int
    new_messages: int
    deleted: int
    decided: int


class LineService:
    """The line's jobs: ``start``, ``drain``, ``send_next``, ``check_health``, ``housekeeping``."""

    def __init__(
        self,
        store: Store,
        link: ModemLink,
        config: Config,
        *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.link = link
        self._clock = clock
        self._monotonic = monotonic
        self._started_at = clock()
        self.monitor = Monitor(store, config, self._started_at)
        self.apply_config(config)
        #: When the worker last finished a step: the daemon pings the watchdog only after one.
        self.progress_at = monotonic()
        #: Set while the database refuses writes (invariant 7: stop deleting from the SIM).
        self.db_error: StoreError | None = None
        self.stop_requested = False
        self.health: Health | None = None
        self._delete_read_supported = True
        #: The modem's new-message announcements are off: a drain is under way.
        self._quiet = False
        self._published: tuple[str, str] | None = None
        self._published_at = 0.0
        #: The latest status line, computed on the worker; the main thread only reads it (it
        #: must not touch the database connection the worker is using).
        self.status = "starting"

    def apply_config(self, config: Config) -> None:
        """Take a (re)loaded configuration; effective from the next job."""
        self.config = config
        self.rules = Rules.from_config(config)
        self.store.campaigns.configure(self.rules.similarity, self.rules.campaign_window)
        self.texts = Texts.from_config(config)
        self.admin = AdminSettings.from_config(config)
        self.monitor.apply_config(config)
        self._region = config.line.default_region

    # --- jobs --------------------------------------------------------------------------------

    def start(self) -> None:
        """After a (re)start: SMS left ``sending`` by a crash become ``unknown``; leftovers are
        decided."""
        now = self._clock()
        recovered = self.store.outbox.recover_sending(now)
        if recovered:
            log.warning("%d SMS were being sent when the daemon stopped: marked unknown", recovered)
        decide_pending(
            self.store, self.rules, self.texts, now, admin=self.admin,
            alert_rules=self.monitor.rules,
        )  # fmt: skip
        self.link.get()
        self._publish(force=True)
        self._progress()

    def drain(self, budget_s: float) -> bool:
        """Poll passes until the SIM is empty, ``budget_s`` is spent or a stop is requested.

        Each pass decides what the previous one stored while the modem lists (the worker
        thinks while the line works); what the last pass stored is decided before returning.
        While passes find messages, the modem announces no new ones (each pass lists them
        anyway, and a +CMTI per SMS costs the line a tenth of what the SMS does); a pass that
        finds the SIM empty turns the announcements back on, and one more pass takes what came
        in between. Returns True when messages may remain (the caller polls again at once,
        letting other jobs, such as one reply, run in between: replies go between drains,
        never inside one).
        """
        deadline = self._monotonic() + budget_s
        try:
            while not self.stop_requested:
                result = self._poll(decide_meanwhile=True)
                if result is None:
                    return False
                if result.listed == 0:
                    if not self._quiet:
                        return False
                    self._notify_new_messages(True)
                    continue
                if not self._quiet:
                    self._notify_new_messages(False)
                if self._monotonic() >= deadline:
                    return True
            return False
        finally:
            self._decide(self._clock())

    def poll_once(self) -> PollResult | None:
        """List the SIM, store durably, delete, decide (DESIGN invariants 1, 6, 7, 8)."""
        return self._poll(decide_meanwhile=False)

    def _poll(self, *, decide_meanwhile: bool) -> PollResult | None:
        """One pass; with ``decide_meanwhile``, deciding what is stored runs during the listing
        (before it, in effect: what this pass stores waits for the next one)."""
        modem = self.link.get()
        if modem is None:
            return None
        decided = 0

        def decide() -> None:
            nonlocal decided
            decided = self._decide(self._clock())

        def decide_while_listing() -> None:
            # A bug in deciding must not stop the storing: the listing goes on, the messages
            # are stored and deleted, and the error is logged (and met again after the drain).
            try:
                decide()
            except Exception:
                log.exception("unexpected error while deciding; storing carries on")

        try:
            listing = modem.list_stored(decide_while_listing if decide_meanwhile else None)
        except ModemError as error:
            self.link.failed(error)
            return None
        listed = [m for m in listing.messages if m.status in _INBOUND_STATUSES]
        parts = [_received(m) for m in listed]
        now = self._clock()
        try:
            result = self.store.inbound.ingest(parts, now, self._region, complete=listing.complete)
        except StoreError as error:
            self._database_failed(error, len(listed))
            return None
        self._database_ok()
        deleted = self._delete(modem, result.committed, len(listed), whole=listing.complete)
        if not decide_meanwhile:
            decide()
        if listed:
            log.info(
                "poll: %d part(s) read, %d new, %d message(s) complete, %d deleted from the SIM",
                len(listed),
                result.new_parts,
                result.new_messages,
                deleted,
            )
        if result.undecodable:
            log.warning("%d undecodable PDU(s) quarantined as evidence", result.undecodable)
        self._progress()
        self._publish(force=False)
        return PollResult(len(listed), result.new_parts, result.new_messages, deleted, decided)

    def send_next(self) -> OutboxItem | None:
        """Send the oldest due SMS (all its parts), at most once. Returns it, or None."""
        if self.db_error is not None:
            return None
        modem = self.link.get()
        if modem is None:
            return None
        now = self._clock()
        try:
            item = self.store.outbox.next_due(
                now, withdraw_campaigns=self.rules.mode is Mode.ENFORCE
            )
            if item is None:
                return None
            self.store.outbox.mark_sending(item.id, now)
        except StoreError as error:
            self._database_failed(error, None)
            return None
        self._send(modem, item)
        self._progress()
        return item

    def check_health(self) -> Health | None:
        """Ask the modem how it is; publish it (and the daemon's state) for `status`; raise the
        alerts it calls for and rewrite the metrics textfile."""
        modem = self.link.get()
        if modem is not None:
            try:
                self.health = modem.health()
            except ModemError as error:
                self.link.failed(error)
                self.health = None
        self._publish(force=True)
        self.monitor.check(
            self._clock(),
            modem=self.link.modem,
            health=self.health,
            database_ok=self.db_error is None,
        )
        self._progress()
        return self.health

    def housekeeping(self) -> None:
        """Release stale multipart groups, decide what is due, end a quiet attack, purge."""
        now = self._clock()
        config = self.config
        try:
            released = self.store.inbound.release_incomplete(
                now, config.schedule.multipart_timeout, self._region
            )
            if released:
                log.warning("%d long SMS released incomplete after the timeout", released)
            # Also ends a quiet attack and decides held messages when no SMS comes to poll for.
            self._decide(now)
            purged = self.store.evidence.purge(now, config.storage.retention)
            if purged:
                log.info("retention: erased the texts of %d message(s)", purged)
        except StoreError as error:
            self._database_failed(error, None)
        self._progress()

    def heartbeat(self) -> None:
        """A no-op step proving the worker is free (the watchdog's sign of life when idle)."""
        self._progress()
        self._publish(force=False)

    # --- state for the daemon ----------------------------------------------------------------

    @property
    def state(self) -> str:
        """One word for `status`: running, modem lost, modem halted or database error."""
        if self.db_error is not None:
            return "database error"
        if self.link.halted:
            return "modem halted"
        if self.link.modem is None:
            return "modem lost"
        return "running"

    def status_text(self) -> str:
        """The one line systemd shows (STATUS=) and `status` prints."""
        storage = self._storage_text()
        if self.db_error is not None:
            return f"database error, SIM buffering{storage}: {self.db_error}"
        if self.link.halted:
            return f"modem halted, fix the configuration then reload: {self.link.last_error}"
        if self.link.modem is None:
            retry = self.link.retry_in_s()
            when = f", retrying in {retry:.0f} s" if retry is not None else ""
            return f"modem lost{when}: {self.link.last_error or 'not opened yet'}"
        parts = ["polling"]
        try:
            parts.append(f"{self.store.outbox.queued_count()} queued")
            line = self.store.line.state()
        except StoreError:
            line = None
        if self.health is not None and self.health.signal_dbm is not None:
            parts.append(f"signal {self.health.signal_dbm} dBm")
        text = ", ".join(parts) + storage
        if line is not None and line.in_flood:
            text = "FLOOD mode, replies suspended; " + text
        elif line is not None and line.under_attack:
            text = "ATTACK under way, new senders held; " + text
        if line is not None and line.is_paused(self._clock()):
            text = "paused; " + text
        return text

    def publish_stopped(self) -> None:
        """Record that the daemon stopped (called once the worker is idle)."""
        try:
            self._write_daemon_state("stopped", "stopped")
        except StoreError as error:
            log.warning("could not record the stop in the database: %s", error)

    # --- internals ---------------------------------------------------------------------------

    def _delete(
        self, modem: Modem, committed: list[tuple[str, int]], listed: int, *, whole: bool
    ) -> int:
        """Delete what is durably stored, in one command when that is safe (invariant 8).

        AT+CMGD=<i>,1 deletes every message marked read, and listing marks them read: only
        when the listing was ``whole`` (nothing on the SIM missing from it) and every part it
        showed is committed does that delete exactly what was stored. Otherwise one by one.
        """
        if not committed:
            return 0
        try:
            bulk = whole and len(committed) == listed and listed > 1
            if self._delete_read_supported and bulk:
                try:
                    modem.delete_read()
                except AtError as error:
                    if isinstance(error, CmsError) and error.retryable:
                        raise
                    log.info("modem refuses AT+CMGD=<i>,1 (%s): deleting one by one", error)
                    self._delete_read_supported = False
                    self._delete_each(modem, committed)
            else:
                self._delete_each(modem, committed)
        except ModemError as error:
            self.link.failed(error)
            return 0
        try:
            self.store.inbound.confirm_deleted(committed)
        except StoreError as error:
            # Harmless: the next listing shows those slots empty and clears them.
            log.warning("could not record the SIM deletions: %s", error)
        return len(committed)

    def _notify_new_messages(self, enabled: bool) -> None:
        modem = self.link.get()
        if modem is None:
            self._quiet = False  # a modem opened again announces new messages
            return
        try:
            modem.notify_new_messages(enabled)
        except ModemError as error:
            self.link.failed(error)
            self._quiet = False
            return
        self._quiet = not enabled

    @staticmethod
    def _delete_each(modem: Modem, committed: list[tuple[str, int]]) -> None:
        for _, index in committed:
            modem.delete(index)

    def _decide(self, now: datetime) -> int:
        try:
            decided = decide_pending(
                self.store, self.rules, self.texts, now, admin=self.admin,
                alert_rules=self.monitor.rules,
            )  # fmt: skip
        except StoreError as error:
            self._database_failed(error, None)
            return 0
        if decided:
            reasons = Counter(d.reason.value for _, d in decided)
            summary = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
            log.info("decided %d message(s): %s", len(decided), summary)
        return len(decided)

    def _send(self, modem: Modem, item: OutboxItem) -> None:
        try:
            refs = modem.send(item.recipient, item.text, reference=item.id % 256)
        except ModemError as error:
            self._send_failed(item, error)
            return
        try:
            self.store.outbox.mark_sent(item.id, self._clock(), refs)
        except StoreError as error:
            self._database_failed(error, None)
            return
        log.info(
            "%s %d sent to %s (%d part(s))", item.kind, item.id, mask(item.recipient), len(refs)
        )

    def _send_failed(self, item: OutboxItem, error: ModemError) -> None:
        """At most once: retry only when no part can have left."""
        now = self._clock()
        cause = error.cause if isinstance(error, SendFailed) else error
        outcome = send_outcome(error)
        outbox = self.store.outbox
        try:
            if outcome is SendOutcome.UNSENDABLE:
                outbox.mark_failed(item.id, now, str(cause))
            elif outcome is SendOutcome.REFUSED and isinstance(cause, CmsError):
                if item.attempts + 1 < MAX_SEND_ATTEMPTS:
                    wait = SEND_RETRY_BASE * 2**item.attempts
                    outbox.retry_later(item.id, now, now + wait, f"+CMS ERROR {cause.code}")
                    log.warning("%s %d: %s; retrying in %s", item.kind, item.id, cause, wait)
                    return
                outbox.mark_failed(item.id, now, f"+CMS ERROR {cause.code}: {cause.meaning}")
            else:
                # Some parts left before a refusal, or a timeout or a lost port mid-send: the SMS
                # may have left. Never resend. Only a silent modem needs its port reopened.
                outbox.mark_unknown(item.id, now, str(error))
                if not isinstance(cause, AtError):
                    self.link.failed(cause)
        except StoreError as store_error:
            self._database_failed(store_error, None)
            return
        log.warning("%s %d to %s not sent: %s", item.kind, item.id, mask(item.recipient), error)

    def _database_failed(self, error: StoreError, listed: int | None) -> None:
        if self.db_error is None or str(self.db_error) != str(error):
            buffering = f"; {listed} SMS left on the SIM" if listed is not None else ""
            log.error("database error, not deleting anything from the SIM%s: %s", buffering, error)
        self.db_error = error

    def _database_ok(self) -> None:
        if self.db_error is not None:
            log.warning("database usable again: draining the SIM")
            self.db_error = None

    def _progress(self) -> None:
        self.progress_at = self._monotonic()

    def _storage_text(self) -> str:
        health = self.health
        if health is None or health.storage_used is None or health.storage_total is None:
            return ""
        return f", SIM {health.storage_used}/{health.storage_total}"

    def _publish(self, *, force: bool) -> None:
        """Write the daemon and modem state for `status` when it changed (or when forced)."""
        status = self.status = self.status_text()
        current = (self.state, status)
        fresh = self._monotonic() - self._published_at < 30
        if not force and current == self._published and fresh:
            return
        try:
            self._write_daemon_state(*current)
            identity = self.link.identity
            error = self.link.last_error
            self.store.line.put_daemon_state(
                self._clock(),
                "modem",
                {
                    "identity": asdict(identity) if identity else None,
                    "health": asdict(self.health) if self.health else None,
                    "error": str(error) if error and self.link.modem is None else None,
                },
            )
        except StoreError as store_error:
            self._database_failed(store_error, None)
            return
        self._published, self._published_at = current, self._monotonic()

    def _write_daemon_state(self, state: str, status: str) -> None:
        self.store.line.put_daemon_state(
            self._clock(),
            "daemon",
            {
                "pid": os.getpid(),
                "started_at": self._started_at.isoformat(),
                "state": state,
                "status": status,
            },
        )


def _received(stored: StoredMessage) -> ReceivedPart:
    """Decode what the SIM holds; a slot the modem could not show is quarantined as it came."""
    unread = stored.status is MessageStatus.REC_UNREAD
    if stored.unreadable is not None:
        return ReceivedPart(
            stored.storage,
            stored.index,
            stored.pdu,
            PartKind.UNDECODABLE,
            error=f"unreadable on the modem: {stored.unreadable}",
            unread=unread,
        )
    return decode_stored(stored.storage, stored.index, stored.pdu, unread=unread)
