"""A final result where a listing's entries still follow: the SIM keeps what was not stored.

A stray "OK" inside an AT+CMGL answer (line noise, a late answer, a firmware quirk) ends the
listing early for the driver while the rest of it is still on its way. The modem marked every
listed message read, so the bulk delete (AT+CMGD=<i>,1) would erase the ones never parsed. The
real line service runs here in-process over the simulator's pty, with the real AT driver and a
real SQLite file, and a clock the test moves past the link's backoff.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from daemon_helpers import write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anti_relous.config import load_config
from anti_relous.link import ModemLink
from anti_relous.modem import open_modem
from anti_relous.service import LineService
from anti_relous.simulator.device import ModemSimulator
from anti_relous.store import Store

SLOTS = 30
#: Final results a driver could take for the end of the listing it is reading.
FINALS = ["OK", "ERROR", "+CMS ERROR: 500", "+CME ERROR: 100", "NO CARRIER", "COMMAND NOT SUPPORT"]


class Ticker:
    """The line's monotonic clock, moved past the link's backoff between polls."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drain(directory: Path, sim: ModemSimulator, *, polls: int = 40) -> Store:
    """Poll until the SIM and the network are empty; the store, still open."""
    config = load_config(write_config(directory, sim))
    store = Store.open(config.storage.database)
    ticker = Ticker()
    link = ModemLink(lambda: open_modem(config.modem), monotonic=ticker)
    line = LineService(store, link, config, monotonic=ticker)
    try:
        for _ in range(polls):
            line.poll_once()
            stats = sim.stats()
            if stats.stored == 0 and stats.queued == 0:
                break
            ticker.now += 600  # past any backoff: a failed command reopened the port
    finally:
        link.close()
    return store


def stored_texts(store: Store) -> list[str]:
    """The text of every part stored, each as many times as it was stored."""
    rows = store.db.conn.execute("SELECT text FROM inbound_parts").fetchall()
    return sorted(text for (text,) in rows)


def deliver(sim: ModemSimulator, count: int) -> list[str]:
    texts = [f"message {n:02d}" for n in range(count)]
    for n, text in enumerate(texts):
        sim.deliver(f"+3361200{n:04d}", text)
    assert sim.wait_until(lambda s: s.stats().stored == count, timeout=10)
    return texts


def test_stray_ok_inside_listing_loses_nothing(tmp_path):
    with ModemSimulator(link=tmp_path / "modem", slots=SLOTS) as sim:
        texts = deliver(sim, 20)
        sim.intrude_in_next_listing(8, "OK")
        store = drain(tmp_path, sim)
        with store:
            assert stored_texts(store) == texts, "each SMS stored once, none deleted unread"
        assert (sim.stats().stored, sim.stats().deleted_parts) == (0, 20)


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    count=st.integers(min_value=1, max_value=SLOTS + 10),
    intrusions=st.lists(
        st.tuples(st.integers(min_value=0, max_value=SLOTS + 1), st.sampled_from(FINALS)),
        min_size=1,
        max_size=4,
    ),
)
def test_final_results_injected_into_listings_neither_lose_nor_duplicate(count, intrusions):
    with (
        tempfile.TemporaryDirectory() as directory,
        # The network redelivers as soon as the SIM has room: its 2 s wait after a full SIM
        # would only stretch a test about listings cut short.
        ModemSimulator(link=Path(directory) / "modem", slots=SLOTS, redelivery_s=0) as sim,
    ):
        texts = [f"message {n:02d}" for n in range(count)]
        for after, line in intrusions:
            sim.intrude_in_next_listing(after, line)
        for n, text in enumerate(texts):
            sim.deliver(f"+3361200{n:04d}", text)
        store = drain(Path(directory), sim, polls=60)
        with store:
            assert stored_texts(store) == texts
        stats = sim.stats()
        assert (stats.stored, stats.queued, stats.deleted_parts) == (0, 0, count)
