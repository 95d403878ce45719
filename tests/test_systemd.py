"""The sd_notify client against real AF_UNIX datagram sockets, as systemd would listen."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anti_relous.systemd import Notifier

# Generous: a datagram on a local socket arrives in microseconds; this only stops a hang.
RECEIVE_TIMEOUT_S = 10


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound to a file path, and the NOTIFY_SOCKET value that names it."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(RECEIVE_TIMEOUT_S)
    yield sock, path
    sock.close()


@pytest.fixture
def abstract_listener() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket in the abstract namespace, and its ``@name`` NOTIFY_SOCKET value."""
    name = f"anti-relous-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(RECEIVE_TIMEOUT_S)
    yield sock, "@" + name
    sock.close()


def receive(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def assert_nothing_received(sock: socket.socket) -> None:
    sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        sock.recv(4096)


def test_ready_arrives_as_ready_1(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    Notifier.from_environment({"NOTIFY_SOCKET": address}).ready()
    assert receive(sock) == ["READY=1"]


def test_ready_can_carry_a_status_in_the_same_datagram(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    Notifier.from_environment({"NOTIFY_SOCKET": address}).ready("polling, 0 queued")
    assert receive(sock) == ["READY=1", "STATUS=polling, 0 queued"]


def test_status_arrives_as_status_line(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    Notifier.from_environment({"NOTIFY_SOCKET": address}).status("modem lost, retrying in 40 s")
    assert receive(sock) == ["STATUS=modem lost, retrying in 40 s"]


def test_status_with_newlines_cannot_forge_another_assignment(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    Notifier.from_environment({"NOTIFY_SOCKET": address}).status("sms text\nREADY=1")
    assert receive(sock) == ["STATUS=sms text READY=1"]


def test_status_keeps_non_ascii_text(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    Notifier.from_environment({"NOTIFY_SOCKET": address}).status("réseau perdu")
    assert receive(sock) == ["STATUS=réseau perdu"]


def test_watchdog_arrives_as_watchdog_1_when_systemd_asked_for_it(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}
    Notifier.from_environment(env).watchdog()
    assert receive(sock) == ["WATCHDOG=1"]


def test_watchdog_without_pid_is_honoured(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    Notifier.from_environment({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "60000000"}).watchdog()
    assert receive(sock) == ["WATCHDOG=1"]


def test_watchdog_interval_is_half_the_timeout(listener: tuple[socket.socket, str]) -> None:
    _, address = listener
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "60000000"})
    assert notifier.watchdog_interval_s == 30.0


def test_watchdog_pid_of_another_process_disables_the_watchdog(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    env = {
        "NOTIFY_SOCKET": address,
        "WATCHDOG_USEC": "60000000",
        "WATCHDOG_PID": str(os.getpid() + 1),
    }
    notifier = Notifier.from_environment(env)
    notifier.watchdog()
    assert notifier.watchdog_interval_s is None
    assert_nothing_received(sock)


def test_watchdog_is_off_without_watchdog_usec(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": address})
    notifier.watchdog()
    assert notifier.watchdog_interval_s is None
    assert_nothing_received(sock)


def test_malformed_watchdog_usec_disables_the_watchdog(
    listener: tuple[socket.socket, str],
) -> None:
    _, address = listener
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "soon"})
    assert notifier.watchdog_interval_s is None


def test_stopping_arrives_as_stopping_1(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    Notifier.from_environment({"NOTIFY_SOCKET": address}).stopping()
    assert receive(sock) == ["STOPPING=1"]


def test_reloading_carries_the_monotonic_clock_for_notify_reload(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    before_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    Notifier.from_environment({"NOTIFY_SOCKET": address}).reloading()
    after_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    reloading, monotonic = receive(sock)
    assert reloading == "RELOADING=1"
    name, value = monotonic.split("=")
    assert name == "MONOTONIC_USEC"
    assert before_usec <= int(value) <= after_usec


def test_abstract_namespace_socket_receives_notifications(
    abstract_listener: tuple[socket.socket, str],
) -> None:
    sock, address = abstract_listener
    Notifier.from_environment({"NOTIFY_SOCKET": address}).ready()
    assert receive(sock) == ["READY=1"]


def test_messages_arrive_in_order_over_one_notifier(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"})
    notifier.ready()
    notifier.watchdog()
    notifier.stopping()
    assert [receive(sock) for _ in range(3)] == [["READY=1"], ["WATCHDOG=1"], ["STOPPING=1"]]


def test_without_notify_socket_every_call_is_a_silent_no_op() -> None:
    notifier = Notifier.from_environment({"WATCHDOG_USEC": "60000000"})
    notifier.ready("x")
    notifier.status("x")
    notifier.watchdog()
    notifier.reloading()
    notifier.stopping()
    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None


def test_relative_notify_socket_is_ignored() -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": "notify.sock"})
    notifier.ready()
    assert not notifier.enabled


def test_vanished_socket_is_logged_once_at_warning_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with caplog.at_level("DEBUG", logger="anti_relous.systemd"):
        notifier.ready()
        notifier.status("still running")
        notifier.stopping()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "cannot notify systemd" in warnings[0].getMessage()


def test_notifications_resume_when_the_socket_comes_back(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": path})
    notifier.status("nobody listening yet")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(RECEIVE_TIMEOUT_S)
        notifier.status("listening now")
        assert receive(sock) == ["STATUS=listening now"]


def test_from_environment_reads_os_environ_by_default(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    # A real child process with a real environment, as systemd would start the daemon.
    code = "from anti_relous.systemd import Notifier; Notifier.from_environment().ready()"
    env = {**os.environ, "NOTIFY_SOCKET": address}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert receive(sock) == ["READY=1"]
