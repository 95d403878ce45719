"""Whether a daemon serves the line, and what it last saw of the modem, from what it published."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from anti_relous.clock import format_age
from anti_relous.lazyclass import frozen_dataclass

#: A daemon silent for this many health intervals is considered gone (crashed, killed -9).
STALE_AFTER_HEALTH_INTERVALS = 3


@frozen_dataclass
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


@frozen_dataclass
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
