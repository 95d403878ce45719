"""A configured line in a temporary directory, and the CLI invoked against it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from store_helpers import part

from anti_relous.cli import cli
from anti_relous.config import load_config
from anti_relous.policy import Rules
from anti_relous.service import Texts, decide_pending
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
        self.config = load_config(self.config_path)
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
        self, *, pid: int, state: str = "running", at: datetime | None = None
    ) -> None:
        """What a daemon publishes for `status`."""
        now = at or datetime.now(UTC)
        with self.store() as store:
            store.line.put_daemon_state(
                now,
                "daemon",
                {"pid": pid, "started_at": now.isoformat(), "state": state, "status": "polling"},
            )
