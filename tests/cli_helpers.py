"""A configured line in a temporary directory, and the CLI invoked against it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from conftest import require_tool
from store_helpers import part

from anti_relous.cli import cli
from anti_relous.config import open_config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.policy import Rules
from anti_relous.simulator.sandbox import SimulateDir, config_text
from anti_relous.store import Store

REGION = "FR"


class Line:
    """A config file and a database in ``root``; ``invoke`` runs the CLI with ``--config``."""

    def __init__(self, root: Path, overrides: Mapping[str, Mapping[str, Any]] | None = None):
        self.place = SimulateDir(root)
        self.config_path = self.place.config
        self.db_path = self.place.database
        self.config_path.write_text(config_text(self.place, overrides))
        # Leniently: some tests give the file a mistake on purpose, for the CLI to cope with.
        self.config = open_config(self.config_path, lenient=True, warn=lambda problem: None)
        self.db_path = self.config.storage.database
        Store.open(self.db_path).close()

    def invoke(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        runner = CliRunner(env=dict(env or {}))
        return runner.invoke(cli, ["--config", str(self.config_path), *args])

    @contextlib.contextmanager
    def store(self) -> Iterator[Store]:
        with Store.open(self.db_path, create=False) as store:
            yield store

    def receive(self, sender: str, text: str = "salut", at: datetime | None = None) -> None:
        """A message arrives and the policy decides on it, as the daemon would."""
        now = at or datetime.now(UTC)
        with self.store() as store:
            store.inbound.ingest([part(sender, text)], now, REGION)
            decide_pending(
                store, Rules.from_config(self.config), Texts.from_config(self.config), now
            )

    def publish_daemon(
        self,
        *,
        pid: int,
        state: str = "running",
        status: str = "polling",
        at: datetime | None = None,
    ) -> None:
        """What a daemon publishes for `status`."""
        now = at or datetime.now(UTC)
        with self.store() as store:
            store.line.put_daemon_state(
                now,
                "daemon",
                {"pid": pid, "started_at": now.isoformat(), "state": state, "status": status},
            )


def as_operator(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI subject to file permissions: as root, without the capabilities that bypass
    them (CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so a 0444 file is read-only to it too."""
    prefix = []
    if os.geteuid() == 0:
        setpriv = require_tool("setpriv")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "anti_relous", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
