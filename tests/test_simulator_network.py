"""The simulated network in front of the SIM: paced deliveries, and a full SIM held until RP-SMMA.

Pure: a SIM storage, the network and a clock the test moves (no pty, no thread).
"""

from __future__ import annotations

from anti_relous.simulator.card import SimStorage
from anti_relous.simulator.network import Network


def signal_if_room(storage: SimStorage, network: Network) -> None:
    """What the phone does after each command: RP-SMMA once a refused SIM has room again."""
    if storage.take_memory_available():
        network.memory_available()


def test_a_delivery_finding_the_sim_full_is_refused_and_holds_the_rest(ticker):
    storage, network = SimStorage(2), Network(clock=ticker)
    for n in range(4):
        network.submit(bytes([n]))
    handover = network.deliver_due(storage)
    assert (handover.stored, handover.refused) == ([0, 1], True)
    assert (network.queued, network.full_events, storage.memory_exceeded) == (2, 1, True)


def test_a_full_sim_gets_nothing_until_the_phone_signals_memory_available(ticker):
    storage, network = SimStorage(2), Network(redelivery_s=0.0, clock=ticker)
    for n in range(3):
        network.submit(bytes([n]))
    network.deliver_due(storage)
    storage.delete(0)  # room again, but the network has not been told
    ticker.now += 60
    assert network.deliver_due(storage).stored == []
    signal_if_room(storage, network)
    assert network.deliver_due(storage).stored == [0]


def test_after_memory_available_the_network_waits_two_seconds_by_default(ticker):
    storage, network = SimStorage(1), Network(clock=ticker)
    network.submit(b"a")
    network.submit(b"b")
    network.deliver_due(storage)
    ticker.now += 30  # however long the SIM stayed full, the delay runs from the signal
    storage.delete(0)
    signal_if_room(storage, network)
    ticker.now += 1.99
    assert network.deliver_due(storage).stored == []
    ticker.now += 0.01
    assert network.deliver_due(storage).stored == [0]


def test_parts_arriving_while_the_network_waits_wait_with_the_rest(ticker):
    storage, network = SimStorage(2), Network(redelivery_s=1.0, clock=ticker)
    for n in range(3):
        network.submit(bytes([n]))
    network.deliver_due(storage)
    storage.delete(0)
    storage.delete(1)
    signal_if_room(storage, network)
    network.submit(b"new")
    assert network.deliver_due(storage).stored == []
    ticker.now += 1.0
    assert network.deliver_due(storage).stored == [0, 1]
    assert network.queued == 0


def test_the_sim_signals_memory_available_once_per_refusal_and_only_with_room(ticker):
    storage, network = SimStorage(1), Network(clock=ticker)
    assert not storage.take_memory_available()  # never refused anything
    network.submit(b"a")
    network.submit(b"b")
    network.deliver_due(storage)
    assert not storage.take_memory_available()  # refused, but still full
    storage.delete(0)
    assert storage.take_memory_available()
    assert not storage.take_memory_available()


def test_the_network_hands_parts_over_one_gap_apart(ticker):
    storage, network = SimStorage(10), Network(gap_s=0.02, clock=ticker)
    for n in range(4):
        network.submit(bytes([n]))
    assert network.deliver_due(storage).stored == [0]
    ticker.now += 0.01
    assert network.deliver_due(storage).stored == []
    ticker.now += 0.05  # a late look finds the parts whose turn came meanwhile
    assert network.deliver_due(storage).stored == [1, 2, 3]
    assert network.next_attempt_at() is None


def test_an_idle_network_delivers_a_new_part_at_once(ticker):
    storage, network = SimStorage(10), Network(gap_s=0.5, clock=ticker)
    network.submit(b"a")
    network.deliver_due(storage)
    ticker.now += 10
    network.submit(b"b")
    assert network.next_attempt_at() == ticker.now
    assert network.deliver_due(storage).stored == [1]


def test_full_seconds_run_from_each_refusal_until_a_part_gets_through(ticker):
    storage, network = SimStorage(1), Network(redelivery_s=2.0, clock=ticker)
    for n in range(3):
        network.submit(bytes([n]))
    network.deliver_due(storage)  # refused at 100
    ticker.now += 1.0
    assert network.full_seconds() == (1.0, 1.0)  # the period under way counts
    storage.delete(0)
    signal_if_room(storage, network)
    ticker.now += 2.0
    network.deliver_due(storage)  # through at 103, refused again at once
    ticker.now += 0.5
    storage.delete(0)
    signal_if_room(storage, network)
    ticker.now += 2.0
    network.deliver_due(storage)  # through at 105.5
    assert network.full_seconds() == (5.5, 3.0)
    assert (network.full_events, network.memory_available_signals) == (2, 2)
