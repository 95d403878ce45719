"""The metrics' running totals equal a recount of the whole history, however they interleave."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from conftest import T0
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import part

from anti_relous.config import Config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.policy import Rules
from anti_relous.store import Store, Tally

RULES = Rules.from_config(Config())
TEXTS = Texts(reply="Ceci est un numéro anti-relous.", reply_parts=1)
#: (what happens, how many): messages arrive, some get decided, the tally advances by a chunk.
STEPS = st.lists(
    st.tuples(st.sampled_from(["arrive", "decide", "advance"]), st.integers(1, 7)), max_size=25
)


def figures(summary):
    return (summary.inbound_messages, summary.inbound_parts, summary.decisions)


@settings(max_examples=40, deadline=None)
@given(steps=STEPS)
def test_a_tally_advanced_in_chunks_equals_a_recount(steps):
    with tempfile.TemporaryDirectory() as directory, Store.open(Path(directory) / "t.db") as store:
        check_tally(store, steps)


def check_tally(store, steps):
    tally, now = Tally(), T0
    for n, (step, count) in enumerate(steps):
        now += timedelta(minutes=1)
        if step == "arrive":
            parts = [part(sender=f"+3361234{(n + i) % 40:04d}") for i in range(count)]
            store.inbound.ingest(parts, now, "FR")
        elif step == "decide":
            decide_pending(store, RULES, TEXTS, now, limit=count)
        else:
            store.tallies.advance(tally, chunk=count)
    while not store.tallies.advance(tally, chunk=3):
        pass
    recount = store.reports.summary(None, None)
    assert figures(store.tallies.summary(tally)) == figures(recount)


def test_a_decision_made_after_its_message_was_counted_is_added_once(store):
    tally = Tally()
    store.inbound.ingest([part()], T0, "FR")
    assert store.tallies.advance(tally)
    assert store.tallies.summary(tally).decisions == {}
    decide_pending(store, RULES, TEXTS, T0)
    store.tallies.advance(tally)
    store.tallies.advance(tally)
    assert store.tallies.summary(tally).decisions == {"replied": 1}


def test_a_long_history_is_caught_up_a_chunk_at_a_time(store):
    store.inbound.ingest([part(sender=f"+3361234{i:04d}") for i in range(5)], T0, "FR")
    tally = Tally()
    assert [store.tallies.advance(tally, chunk=2) for _ in range(3)] == [False, False, True]
    assert store.tallies.summary(tally).inbound_messages == 5
