"""`anti-relous run`: builds the line, runs its jobs on one worker, obeys signals and systemd.

Three kinds of threads (DESIGN section 3): the modem's reader thread turns bytes into events;
ONE worker thread (APScheduler, one executor thread) runs every job, so every AT command and
every SQLite write happen there in turn; this main thread owns the signals (whose handlers only
set flags), the watchdog, sd_notify and the exit code.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from anti_relous.clock import utc_now
from anti_relous.config import Config, ConfigError, load_config
from anti_relous.link import ModemLink, PinMemory
from anti_relous.logs import configure_logging
from anti_relous.modem import Modem, open_modem
from anti_relous.pidlock import AlreadyLocked, LockUnavailable, PidLock
from anti_relous.service import LineService
from anti_relous.store import Store, StoreError
from anti_relous.systemd import Notifier

log = logging.getLogger(__name__)

#: How long one poll job may keep draining before it lets a reply (or a health check) run.
DRAIN_BUDGET_S = 5.0
#: A +CMTI schedules a poll this much later. It was 0.25 s, so that a burst was read in one
#: pass rather than one per +CMTI; since the drain turns +CMTI off while its passes find
#: messages, passes follow each other without it, and the delay only let parts pile up before
#: the first pass: on a network delivering faster than the line lists, that pile made every
#: listing larger than the last until the SIM was full (500 parts a part every 16 ms: 13
#: SIM-full events with 0.25 s, 5 without, for the same CPU).
NEW_MESSAGE_POLL_DELAY_S = 0.0
#: Pace of the worker's sign of life when idle, and of the main loop.
HEARTBEAT_INTERVAL = timedelta(seconds=1)
MAIN_LOOP_TICK_S = 0.25
#: SIGTERM: wait this long for the job in flight (one AT command at most) before closing the
#: port under it, so the whole stop stays within 10 s.
STOP_GRACE_S = 6.0
STOP_ABORT_S = 2.0
#: While the modem is closed, the link is asked this often whether its backoff has passed, so
#: that an attempt comes when its log line said ("next attempt in 1 s"), not at the next poll.
RECONNECT_CHECK_INTERVAL = timedelta(seconds=1)
#: While the modem has not answered yet, ask systemd for more start-up time in these steps.
START_EXTENSION_S = 30.0


@dataclass
class _Flags:
    """Set by signal handlers, read by the main loop: nothing else happens in a handler."""

    should_exit: bool = False
    should_reload: bool = False


class Daemon:
    """The running line: a scheduler with one worker, a modem link and the main-thread loop."""

    def __init__(
        self,
        config: Config,
        store: Store,
        notifier: Notifier,
        *,
        config_path: Path | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.store = store
        self.notifier = notifier
        self.link = ModemLink(self._modem_factory(config), pin_rejections=self._pin_memory(config))
        self.line = LineService(store, self.link, config)
        self.flags = _Flags()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._job_running = threading.Event()
        #: At most one extra poll is ever requested on top of the one running (see _poll).
        self._poll_requested = threading.Event()
        self._ready = False
        self._last_ping = 0.0
        self._last_status = ""

    # --- main thread -----------------------------------------------------------------------

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; returns the process exit code."""
        previous = self._install_signal_handlers()
        try:
            self._schedule_jobs()
            self.scheduler.start()
            log.info("anti-relous started (pid %d), database %s", os.getpid(), self.store.path)
            self._main_loop()
        finally:
            self._stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def _main_loop(self) -> None:
        next_extension = 0.0
        while not self.flags.should_exit:
            if self.flags.should_reload:
                self.flags.should_reload = False
                self._reload()
            if self.link.wait_for_new_message(MAIN_LOOP_TICK_S):
                # +CMTI: poll soon rather than at the next interval.
                self._request_poll(NEW_MESSAGE_POLL_DELAY_S)
            if not self._ready and self.link.identity is not None:
                # READY only once the database is migrated (before serve) and the modem answered.
                self._ready = True
                self._last_status = self.line.status
                self.notifier.ready(self._last_status)
                log.info("ready: %s", self._last_status)
            elif not self._ready and time.monotonic() >= next_extension:
                self.notifier.extend_timeout(START_EXTENSION_S, self._startup_status())
                next_extension = time.monotonic() + START_EXTENSION_S / 3
            elif self._ready:
                status = self.line.status
                if status != self._last_status:
                    self.notifier.status(status)
                    self._last_status = status
            self._watchdog()

    def _watchdog(self) -> None:
        """Ping only if the worker finished a step since the last ping (a stuck worker stops
        them, and systemd restarts us); a missing modem does not, since jobs still complete."""
        interval = self.notifier.watchdog_interval_s
        if interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= interval and self.line.progress_at > self._last_ping:
            self.notifier.watchdog()
            self._last_ping = now

    def _startup_status(self) -> str:
        error = self.link.last_error
        if error is None:
            return f"starting: opening the modem at {self.config.modem.port}"
        return f"waiting for the modem: {error}"

    def _reload(self) -> None:
        """SIGHUP: read the configuration again; a broken file is reported, the old one kept."""
        if self.config_path is None:
            log.warning("SIGHUP ignored: the daemon runs on built-in defaults, no file to reload")
            return
        self.notifier.reloading()
        try:
            new = load_config(self.config_path)
        except ConfigError as error:
            log.error("configuration not reloaded, keeping the previous one: %s", error)
            self.notifier.ready(self.line.status)
            return
        old, self.config = self.config, new
        configure_logging(new.log.level, full_numbers=new.log.full_numbers)
        if new.storage.database != old.storage.database:
            log.warning("[storage] database changed: takes effect at the next restart only")
        # Applied on the worker, between jobs, like everything that touches the line's state.
        self.scheduler.add_job(
            self._job(self._apply_config), args=[new, old], id="reload", replace_existing=True
        )
        for job_id, interval in self._intervals(new).items():
            if interval != self._intervals(old)[job_id]:
                self.scheduler.reschedule_job(
                    job_id, trigger="interval", seconds=interval.total_seconds()
                )
        log.info("configuration reloaded from %s", self.config_path)
        self.notifier.ready(self.line.status)

    def _stop(self) -> None:
        """Finish the command in flight, stop the jobs in order, release the port and the DB."""
        self.notifier.stopping("stopping: finishing the modem command in flight")
        self.line.stop_requested = True
        if self.scheduler.running:
            self.scheduler.pause()
            if not self._wait_idle(STOP_GRACE_S):
                log.warning("a job is still running after %.0f s: closing the port", STOP_GRACE_S)
                self.link.close()
                self._wait_idle(STOP_ABORT_S)
            self.scheduler.shutdown(wait=False)
        self.link.close()
        self.line.publish_stopped()
        self.store.close()
        log.info("anti-relous stopped")

    def _wait_idle(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._job_running.is_set():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _install_signal_handlers(self) -> dict[int, Any]:
        def on_exit(signum: int, frame: FrameType | None) -> None:
            self.flags.should_exit = True

        def on_reload(signum: int, frame: FrameType | None) -> None:
            self.flags.should_reload = True

        previous: dict[int, Any] = {}
        for signum, handler in (
            (signal.SIGTERM, on_exit),
            (signal.SIGINT, on_exit),
            (signal.SIGHUP, on_reload),
        ):
            previous[signum] = signal.signal(signum, handler)
        return previous

    # --- jobs (worker thread) --------------------------------------------------------------

    def _schedule_jobs(self) -> None:
        now = utc_now()
        self.scheduler.add_job(self._job(self.line.start), id="start", next_run_time=now)
        intervals = self._intervals(self.config)
        for job_id, function in (
            ("poll", self._poll),
            ("send", self.line.send_next),
            ("health", self.line.check_health),
            ("housekeeping", self.line.housekeeping),
            ("heartbeat", self.line.heartbeat),
            ("reconnect", self._reconnect),
        ):
            self.scheduler.add_job(
                self._job(function),
                trigger="interval",
                seconds=intervals[job_id].total_seconds(),
                id=job_id,
                next_run_time=now,
                # One worker runs everything, so two "instances" of the poll job can only mean
                # one running and one queued behind it: how a drain asks to continue.
                max_instances=2 if job_id == "poll" else 1,
            )

    @staticmethod
    def _intervals(config: Config) -> dict[str, timedelta]:
        schedule = config.schedule
        return {
            "poll": schedule.poll_interval,
            "send": schedule.send_interval,
            "health": schedule.health_interval,
            "housekeeping": timedelta(minutes=1),
            "heartbeat": HEARTBEAT_INTERVAL,
            "reconnect": RECONNECT_CHECK_INTERVAL,
        }

    def _job(self, function: Any) -> Any:
        """Wrap a job: the loop boundary where an unexpected exception is logged, not fatal."""

        def run(*args: Any) -> None:
            if self.line.stop_requested:
                return
            self._job_running.set()
            try:
                function(*args)
            except Exception:
                log.exception("unexpected error in %s; the line carries on", function.__name__)
            finally:
                self._job_running.clear()

        run.__name__ = getattr(function, "__name__", "job")
        return run

    def _reconnect(self) -> None:
        if self.link.modem is None:
            self.link.get()

    def _poll(self) -> None:
        self._poll_requested.clear()
        if self.line.drain(DRAIN_BUDGET_S):
            # More may be waiting: poll again at once, after whatever job is due in between.
            self._request_poll()

    def _request_poll(self, delay_s: float = 0.0) -> None:
        """Run the poll job in ``delay_s``, or once the worker is free (from either thread).

        The poll job allows two instances, one running and one queued behind it on the single
        worker; the flag keeps requests from ever asking for a third.
        """
        if not self._poll_requested.is_set():
            self._poll_requested.set()
            when = utc_now() + timedelta(seconds=delay_s)
            self.scheduler.modify_job("poll", next_run_time=when)

    def _apply_config(self, new: Config, old: Config) -> None:
        self.line.apply_config(new)
        if new.modem != old.modem:
            log.info("modem settings changed: reopening the modem")
            self.link.reconfigure(self._modem_factory(new), self._pin_memory(new))

    def _pin_memory(self, config: Config) -> PinMemory | None:
        """What keeps a rejected PIN from being entered again after a restart."""
        return PinMemory(self.store.line, config.modem.pin) if config.modem.pin else None

    @staticmethod
    def _modem_factory(config: Config) -> Any:
        def factory() -> Modem:
            return open_modem(config.modem)

        return factory


def run(config: Config, *, config_path: Path | None = None) -> int:
    """Entry point of `anti-relous run`: the exit code (0 stopped, 1 cannot start)."""
    configure_logging(config.log.level, full_numbers=config.log.full_numbers)
    notifier = Notifier.from_environment()
    database = config.storage.database
    try:
        store = Store.open(database, create=True)
    except StoreError as error:
        return _cannot_start(notifier, str(error))
    # One daemon per database: a second one would fight the first for the port and, on its way
    # out, overwrite the state `status` reads. The lock dies with the process, kill -9 included.
    lock = PidLock(lock_path(database))
    try:
        lock.acquire()
    except AlreadyLocked as error:
        store.close()
        holder = f" (pid {error.pid})" if error.pid is not None else ""
        return _cannot_start(
            notifier,
            f"another anti-relous daemon{holder} already serves this database ({database}): "
            "stop it first (systemctl stop anti-relous), or give this one its own "
            "[storage] database",
        )
    except LockUnavailable as error:
        store.close()
        return _cannot_start(notifier, str(error))
    try:
        return Daemon(config, store, notifier, config_path=config_path).serve()
    except Exception:
        log.exception("anti-relous crashed")
        notifier.stopping("crashed")
        return 1
    finally:
        lock.release()


def lock_path(database: Path) -> Path:
    """The file a daemon locks beside its database while it serves it."""
    return database.with_name(f"{database.name}.lock")


def _cannot_start(notifier: Notifier, why: str) -> int:
    log.error("cannot start: %s", why)
    notifier.stopping(f"cannot start: {why}")
    return 1
