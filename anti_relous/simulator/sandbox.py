"""A simulated dongle with its own configuration and database, for `simulate` and `demo`.

Everything lives in one private directory: the pty link the daemon opens as its port, the
simulator's control socket, a configuration pointing at both, and the database.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anti_relous.errors import AntiRelousError
from anti_relous.pidlock import AlreadyLocked, PidLock


class SimulatorBusy(AntiRelousError):
    """Another simulator already serves this directory."""


@dataclass(frozen=True)
class SimulateDir:
    """The files of one simulated line."""

    root: Path

    @property
    def link(self) -> Path:
        """The symlink to the simulator's pty: the daemon's [modem] port."""
        return self.root / "modem"

    @property
    def socket(self) -> Path:
        """The simulator's control socket (see simulator/control.py)."""
        return self.root / "control.sock"

    @property
    def config(self) -> Path:
        """A configuration pointing the daemon at this simulator."""
        return self.root / "config.toml"

    @property
    def database(self) -> Path:
        """The simulated line's database."""
        return self.root / "line.db"

    @property
    def lock(self) -> Path:
        """Held by the simulator serving this directory, for as long as it runs."""
        return self.root / "simulator.lock"


def default_dir() -> Path:
    """A per-user directory: $XDG_RUNTIME_DIR/anti-relous-sim, else one in /tmp."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "anti-relous-sim"
    return Path(tempfile.gettempdir()) / f"anti-relous-sim-{os.getuid()}"


def config_text(
    place: SimulateDir, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> str:
    """A configuration for the simulated line: defaults, plus ``overrides`` per section."""
    sections: dict[str, dict[str, Any]] = {
        "modem": {"port": str(place.link)},
        "storage": {"database": str(place.database)},
    }
    for name, values in (overrides or {}).items():
        sections.setdefault(name, {}).update(values)
    lines = ["# Written by anti-relous for a simulated dongle; see config.example.toml."]
    for name, values in sections.items():
        lines.append(f"\n[{name}]")
        # JSON strings, numbers, booleans and lists of them are valid TOML as written.
        lines += [
            f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()
        ]
    return "\n".join(lines) + "\n"


def prepare(place: SimulateDir, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Create the private directory and write the configuration."""
    place.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    place.config.write_text(config_text(place, overrides), encoding="utf-8")


def serve(place: SimulateDir, echo: Callable[[str], None], *, command: str = "anti-relous") -> None:
    """Run a simulator with its control socket until SIGINT or SIGTERM, then clean up.

    ``command`` is how the operator runs anti-relous from another terminal.

    The signals are blocked before the simulator's threads start and awaited with sigwait():
    no handler runs, and the main thread alone decides to stop. Raises SimulatorBusy when
    another simulator serves ``place``.
    """
    place.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A second simulator would take over the link and the socket, and remove them on its way
    # out, leaving the first one running unreachable.
    lock = PidLock(place.lock)
    try:
        lock.acquire()
    except AlreadyLocked as error:
        raise SimulatorBusy(
            f"a simulator (pid {error.pid}) already runs in {place.root}: use it, stop it "
            "(Ctrl-C in its terminal), or give this one another --dir"
        ) from None
    try:
        _serve(place, echo, command)
    finally:
        lock.release()


def _serve(place: SimulateDir, echo: Callable[[str], None], command: str) -> None:
    from anti_relous.simulator.control import ControlServer
    from anti_relous.simulator.device import ModemSimulator

    prepare(place)
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    simulator = ModemSimulator(link=place.link)
    control = ControlServer(simulator, place.socket)
    try:
        simulator.start()
        control.start()
        echo(f"Simulated dongle on {place.link}")
        echo(f"Configuration for it: {place.config} (database {place.database})")
        echo("")
        config = shlex.quote(str(place.config))
        simulate = f"{command} simulate"
        if place.root != default_dir():
            simulate += f" --dir {shlex.quote(str(place.root))}"
        echo(f"  In another terminal:  {command} --config {config} run")
        echo(f'  Text the line:        {simulate} text +33612345678 "salut"')
        echo(f"  See its replies:      {simulate} sent")
        echo(f"  Look at the line:     {command} --config {config} status")
        echo("")
        echo("Ctrl-C stops the simulator.")
        signal.sigwait(stop_signals)
    finally:
        control.stop()
        simulator.stop()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    echo("Simulator stopped.")
