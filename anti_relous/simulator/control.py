"""A control channel for a running simulator: JSON lines over an AF_UNIX socket (local only).

``anti-relous simulate`` serves it (``with ControlServer(simulator, path):``); another process
(``anti-relous simulate text ...``, a benchmark) sends one request per line and reads one answer
per line::

    {"op": "deliver", "sender": "+33612345678", "text": "salut"}  ->  {"ok": true, "parts": 1}
    {"op": "stats"}  ->  {"ok": true, "stats": {"delivered_parts": 1, ...}}

Operations: deliver, deliver_pdu (hex), stats, sent, unplug, replug, hang, unhang,
fail_next_sends, emit_urc, garbage (hex), path. Failures answer ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from anti_relous.errors import AntiRelousError
from anti_relous.modem.errors import PduError

if TYPE_CHECKING:
    # Only for annotations: the device never imports this module, which serves it.
    from anti_relous.simulator.device import ModemSimulator

log = logging.getLogger(__name__)

# One request line is small; refuse anything absurd rather than buffer it.
MAX_REQUEST_BYTES = 65536


_Operation = Callable[["ModemSimulator", dict[str, Any]], dict[str, Any]]


class SimulatorControlError(AntiRelousError):
    """The control socket could not be reached or refused the request."""


class ControlServer:
    """Serves ``simulator`` on ``socket_path`` from a background thread."""

    def __init__(self, simulator: ModemSimulator, socket_path: Path) -> None:
        self._simulator = simulator
        self.socket_path = Path(socket_path)
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the socket (replacing a stale one) and serve."""
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        handle = self.handle

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while line := self.rfile.readline(MAX_REQUEST_BYTES + 1):
                    answer = handle(line)
                    self.wfile.write(json.dumps(answer).encode() + b"\n")
                    self.wfile.flush()

        server = socketserver.ThreadingUnixStreamServer(str(self.socket_path), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="simulator-control", daemon=True
        )
        self._thread.start()
        log.info("simulator control channel on %s", self.socket_path)

    def stop(self) -> None:
        """Stop serving and remove the socket; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def __enter__(self) -> ControlServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def handle(self, line: bytes) -> dict[str, Any]:
        """Answer one request line; never raises."""
        if len(line) > MAX_REQUEST_BYTES:
            return {"ok": False, "error": "request too long"}
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise TypeError("a request is a JSON object")
            operation = _OPERATIONS.get(request.get("op", ""))
            if operation is None:
                return {"ok": False, "error": f"unknown op {request.get('op')!r}"}
            return {"ok": True, **operation(self._simulator, request)}
        except PduError as error:
            return {"ok": False, "error": str(error)}  # written for people already
        except (ValueError, TypeError, KeyError) as error:
            return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def control(socket_path: Path | str, request: dict[str, Any], *, timeout: float = 10.0) -> dict:
    """Send one request to a simulator's control socket and return its answer."""
    path = str(socket_path)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(json.dumps(request).encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
    except OSError as error:
        raise SimulatorControlError(
            f"no simulator answers on {path} ({error.strerror or error}): "
            "start one with `anti-relous simulate`"
        ) from None
    try:
        decoded: dict[str, Any] = json.loads(answer)
    except ValueError:
        raise SimulatorControlError(f"the simulator on {path} sent no valid answer") from None
    if not decoded.get("ok"):
        reason = decoded.get("error") or "no reason given"
        raise SimulatorControlError(f"the simulator refused {request.get('op')!r}: {reason}")
    return decoded


def _deliver(sim: ModemSimulator, request: dict[str, Any]) -> dict[str, Any]:
    parts = sim.deliver(
        str(request["sender"]),
        str(request["text"]),
        ucs2=request.get("ucs2"),
        reference=request.get("reference"),
    )
    return {"parts": parts}


def _sent(sim: ModemSimulator, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "sent": [dataclasses.asdict(part) for part in sim.sent],
        "messages": [list(message) for message in sim.sent_messages()],
    }


def _no_answer(action: Callable[[ModemSimulator, dict[str, Any]], None]) -> _Operation:
    def run(sim: ModemSimulator, request: dict[str, Any]) -> dict[str, Any]:
        action(sim, request)
        return {}

    return run


_OPERATIONS: dict[str, _Operation] = {
    "deliver": _deliver,
    "deliver_pdu": _no_answer(lambda sim, r: sim.deliver_pdu(bytes.fromhex(r["pdu"]))),
    "garbage": _no_answer(lambda sim, r: sim.inject_garbage(bytes.fromhex(r["data"]))),
    "stats": lambda sim, r: {"stats": dataclasses.asdict(sim.stats())},
    "sent": _sent,
    "path": lambda sim, r: {"path": str(sim.path)},
    "unplug": _no_answer(lambda sim, r: sim.unplug()),
    "replug": _no_answer(lambda sim, r: sim.replug()),
    "hang": _no_answer(lambda sim, r: sim.hang()),
    "unhang": _no_answer(lambda sim, r: sim.unhang()),
    "fail_next_sends": _no_answer(
        lambda sim, r: sim.fail_next_sends(int(r["count"]), int(r.get("code", 500)))
    ),
    "emit_urc": _no_answer(lambda sim, r: sim.emit_urc(str(r["line"]))),
}
