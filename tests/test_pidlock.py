"""The process lock: exclusive, names its holder, and goes away with the process that held it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from anti_relous.pidlock import AlreadyLocked, PidLock

HOLD = """
import sys, time
from pathlib import Path
from anti_relous.pidlock import PidLock
PidLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path):
    path = tmp_path / "line.db.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(AlreadyLocked) as refused:
            PidLock(path).acquire()
        assert refused.value.pid == holder.pid
    finally:
        holder.kill()
        holder.wait(10)
        holder.stdout.close()


def test_the_lock_is_free_once_its_holder_is_killed(tmp_path):
    path = tmp_path / "line.db.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline() == "held\n"
    holder.kill()
    holder.wait(10)
    holder.stdout.close()
    with PidLock(path):
        assert path.read_text().strip().isdigit()


def test_releasing_lets_the_next_one_in(tmp_path):
    path = tmp_path / "x.lock"
    with PidLock(path), pytest.raises(AlreadyLocked):
        PidLock(path).acquire()
    with PidLock(path):
        pass
