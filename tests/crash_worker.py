"""A line that polls a SIM kept in a JSON file, for crash tests that SIGKILL it at random.

Usage: python crash_worker.py DB SIM_FILE. Prints "ready" once started, exits 0 when the SIM and
the network queue are empty. The SIM file is rewritten atomically, like a real SIM's state.
"""

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from anti_relous.config import Config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.modem import pdu
from anti_relous.policy import Rules
from anti_relous.store import Store


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def save(path: Path, sim: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sim))
    os.replace(tmp, path)


def main(db: Path, sim_file: Path) -> int:
    config = Config()
    rules, texts = Rules.from_config(config), Texts.from_config(config)
    store = Store.open(db)
    store.outbox.recover_sending(datetime.now(UTC))
    print("ready", flush=True)
    while True:
        sim = load(sim_file)
        listing = sorted((int(i), slot) for i, slot in sim["slots"].items())
        if not listing and not sim["queue"]:
            decide_pending(store, rules, texts, datetime.now(UTC))
            return 0
        parts = [
            pdu.decode_stored("SM", index, bytes.fromhex(slot["pdu"]), unread=slot["unread"])
            for index, slot in listing
        ]
        for _, slot in listing:
            slot["unread"] = False  # AT+CMGL=4 marks what it lists as read
        save(sim_file, sim)
        result = store.inbound.ingest(parts, datetime.now(UTC), "FR")
        sim = load(sim_file)
        for _, index in result.committed:
            del sim["slots"][str(index)]
        free = [i for i in range(sim["capacity"]) if str(i) not in sim["slots"]]
        while free and sim["queue"]:
            sim["slots"][str(free.pop(0))] = {"pdu": sim["queue"].pop(0), "unread": True}
        save(sim_file, sim)
        store.inbound.confirm_deleted(result.committed)
        decide_pending(store, rules, texts, datetime.now(UTC))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
