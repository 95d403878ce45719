"""`anti-relous demo`: the real daemon, a simulated dongle, and a bot flood, in under a minute.

The daemon runs as `anti-relous run` in a subprocess, exactly as systemd runs it, against the
built-in simulator (a Huawei-style dongle on a pty) and a temporary database. The scenario:
genuine texters get one reply each; 2,000 SMS from 50 bot numbers arrive at once and are all
recorded: the line sees an attack, holds the new numbers for a second look, and answers the
person who texted in the middle of it while the bots get nothing (a campaign of one text from a
block of consecutive numbers, blocked for abuse); the operator pauses and resumes the line with
the CLI; a summary table ends it.

The attack regime is scaled down to the demo's minute (more than 20 SMS in 6 s instead of 200
in 10 minutes; new numbers held 5 s instead of 20 minutes), so it plays out while you watch.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from anti_relous.clock import utc_now
from anti_relous.config import format_duration, load_config
from anti_relous.errors import AntiRelousError
from anti_relous.simulator.device import ModemSimulator
from anti_relous.simulator.sandbox import SimulateDir, prepare
from anti_relous.store import Store
from anti_relous.store.reports import Summary

#: The operator's own phone: told by SMS when the flood starts.
OPERATOR = "+33611223344"
GENUINE = [
    ("+33612345678", "Salut, c'est Julie ? On s'est vus au bar hier soir"),
    ("+33623456789", "t ou ?? reponds"),
    ("+33634567890", "Bonsoir mademoiselle, vous êtes libre ce week-end ?"),
    ("+33645678901", "Pourquoi tu réponds pas"),
]
#: The one who insists turns threatening: the complaint pack flags it for a human eye first.
INSISTS = (GENUINE[1][0], "je sais où tu habites, réponds")
DURING_FLOOD = ("+33656789012", "Salut, tu te souviens de moi ?")
WHILE_PAUSED = ("+33667890123", "Allô ?")
AFTER_RESUME = ("+33678901234", "Coucou, c'était sympa ce soir")
#: Demo settings: the attack is seen within seconds, new numbers are held a few seconds, and the
#: line is calm again seconds after the flood.
FLOOD_THRESHOLD = 20
FLOOD_WINDOW = timedelta(seconds=6)
FLOOD_COOLDOWN = timedelta(seconds=2)
HOLD = timedelta(seconds=5)
SETTINGS: dict[str, dict[str, Any]] = {
    "modem": {"command_timeout": "5s"},
    "flood": {
        "threshold": FLOOD_THRESHOLD,
        "window": format_duration(FLOOD_WINDOW),
        "cooldown": format_duration(FLOOD_COOLDOWN),
    },
    "attack": {"hold": format_duration(HOLD)},
    "alerts": {"numbers": [OPERATOR]},
    "schedule": {"poll_interval": "1s", "send_interval": "1s", "health_interval": "2s"},
    "log": {"level": "warning"},
}
#: Generous: a slow CI machine must still get there.
STEP_TIMEOUT_S = 120.0
TICK_S = 0.25


class DemoError(AntiRelousError):
    """The demo could not run; the message says where it stopped."""


@dataclass(frozen=True)
class Outcome:
    """What the demo measured, for the summary and for tests."""

    delivered_parts: int
    summary: Summary
    alerts_queued: int
    alerts_sent: int
    #: Longest wait of a sent alert between its queueing and its sending.
    alert_delay_s: float | None
    bots: int
    bots_blocked: int
    #: Replies queued to bot numbers, and how many left: a bot blocked before its reply's turn
    #: never gets it.
    bot_replies: int
    bot_replies_sent: int
    chain_ok: bool
    chain_checked: int
    cloud_price: float
    currency: str
    elapsed_s: float

    @property
    def cloud_cost(self) -> float:
        """What a cloud SMS line would have charged: every part in and every part out."""
        parts = self.summary.inbound_parts + self.summary.parts_sent
        return round(parts * self.cloud_price, 2)


Echo = Callable[[str], None]


def main(
    *,
    flood_size: int = 2000,
    bots: int = 50,
    echo: Echo,
    live: bool = False,
    keep: bool = False,
    report: Path | None = None,
    command: str = "anti-relous",
) -> Outcome:
    """Run the scenario, printing as it goes (``live``: one updating progress line).

    ``report``: a new folder where `anti-relous report` writes the complaint pack of the flood.
    ``command`` is how the operator runs anti-relous, for the hints it prints.
    """
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="anti-relous-demo-"))
    place = SimulateDir(root)
    try:
        with _line(place) as (simulator, store, daemon):
            scenario = Scenario(simulator, store, daemon, place, echo, live)
            outcome = scenario.play(flood_size, bots, started)
            if report is not None:
                scenario.complaint_pack(report)
        echo("")
        echo(summary_table(outcome))
        if keep:
            echo("")
            echo(f"Kept in {root}: look with `{command} --config {place.config} stats`")
        if report is not None:
            echo("")
            echo(
                f"The complaint pack of this flood: {report / 'report.html'} (open it in a browser)"
            )
        return outcome
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _line(place: SimulateDir) -> Iterator[tuple[ModemSimulator, Store, subprocess.Popen[bytes]]]:
    """The simulator, the database and `anti-relous run`, torn down in reverse order."""
    prepare(place, SETTINGS)
    # The demo shows the policy, not the network: the flood reaches the SIM as fast as slots
    # free (the simulator's default network waits 2 s after each full SIM, which made the
    # 2,000-SMS flood outlast STEP_TIMEOUT_S). benchmarks/flood.py measures the network's cost.
    with ModemSimulator(link=place.link, seed=1, redelivery_s=0) as simulator:
        store = Store.open(place.database, create=True)
        log = (place.root / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "anti_relous", "--config", str(place.config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield simulator, store, daemon
        finally:
            _stop(daemon)
            log.close()
            store.close()


def _stop(daemon: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as systemd stops it; SIGKILL if it does not exit in time."""
    if daemon.poll() is not None:
        return
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(15)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait(5)


class Scenario:
    """The steps of the demo, each waiting on what the daemon recorded."""

    def __init__(
        self,
        simulator: ModemSimulator,
        store: Store,
        daemon: subprocess.Popen[bytes],
        place: SimulateDir,
        echo: Echo,
        live: bool,
    ):
        self.sim = simulator
        self.store = store
        self.daemon = daemon
        self.place = place
        self.echo = echo
        self.live = live
        self.config = load_config(place.config)
        self.sent_texts = 0

    def play(self, flood_size: int, bots: int, started: float) -> Outcome:
        """Every step, then the figures."""
        self.echo(f"anti-relous demo: daemon (pid {self.daemon.pid}) on a simulated dongle")
        self.echo(f"  port {self.sim.path}, database {self.place.database}")
        self._wait("the daemon is ready", self._ready)
        self.genuine_texters()
        bot_numbers = self.flood(flood_size, bots)
        self.pause_and_resume()
        # The figures are read once the daemon is gone, so they are final (replies still
        # queued stay queued) and match the database left behind by --keep.
        _stop(self.daemon)
        return self._outcome(bot_numbers, started)

    # --- steps ------------------------------------------------------------------------------

    def genuine_texters(self) -> None:
        """A few people text the number they were given; one insists, then threatens."""
        self.echo("")
        self.echo("1. Four people text the number; one of them insists.")
        for sender, text in [*GENUINE, INSISTS]:
            self._text(sender, text)
        self._wait("their messages are decided", lambda: self._decided() >= self.sent_texts)
        self._wait("the replies leave the dongle", lambda: self._summary().replies_sent >= 4)
        summary = self._summary()
        self.echo(
            f"   {summary.inbound_messages} messages recorded, {summary.replies_sent} replies "
            f"sent, {summary.decisions.get('number_quota', 0)} skipped (one reply per number)"
        )

    def flood(self, size: int, bots: int) -> list[str]:
        """Bots send ``size`` SMS from ``bots`` numbers at once; someone genuine texts too."""
        self.echo("")
        self.echo(f"2. A bot flood: {size:,} SMS from {bots} numbers, all at once.")
        numbers = bot_numbers(bots)
        order = [numbers[i % bots] for i in range(size)]
        random.Random(7).shuffle(order)  # bots interleave; a seed keeps every run alike
        messages = [(sender, f"Gagnez un iPhone ! Code {i:05d}") for i, sender in enumerate(order)]
        messages.insert(size // 2 + 1, DURING_FLOOD)
        # Handed to the network in one go, as a bot farm's gateway sends: delivered one by one
        # from here, a flood's first SMS could reach a daemon on a loaded box alone, and a lone
        # SMS from a new number is a person's until the next ones show otherwise.
        self.sim.deliver_many(messages)
        self.sent_texts += len(messages)
        self._wait("the flood is drained", lambda: self._decided() >= self.sent_texts, live=True)
        summary = self._summary()
        ignored = sum(summary.decisions.get(r, 0) for r in ("campaign", "number_block", "paced"))
        self.echo(
            f"   {summary.inbound_messages:,} messages recorded; the bots got nothing: "
            f"{ignored:,} suppressed as a campaign from one number block, "
            f"{summary.auto_blocked_numbers} numbers blocked automatically"
        )
        (caught,) = self.store.reports.messages(sender=DURING_FLOOD[0], last=1)
        self.echo(
            f"   someone texting in the middle of it: held {format_duration(HOLD)} for a second "
            f"look, decision {caught.reason}"
        )
        return numbers

    def pause_and_resume(self) -> None:
        """The operator pauses the line with the CLI, then resumes it."""
        self.echo("")
        self.echo("3. The operator pauses the line, someone texts, the operator resumes it.")
        self._cli("pause", "--reason", "demo: media coverage tonight")
        self._text(*WHILE_PAUSED)
        self._wait("the message is decided", lambda: self._decided() >= self.sent_texts)
        self._cli("resume")
        calm = FLOOD_WINDOW + FLOOD_COOLDOWN
        self.echo(f"   (the attack is over after {format_duration(calm)} of calm)")
        self._wait("the line is calm", lambda: self._calm(calm))
        self._text(*AFTER_RESUME)
        self._wait("the message is decided", lambda: self._decided() >= self.sent_texts)
        self._wait("its reply leaves", lambda: self._summary().replies_pending == 0)
        reasons = [row.reason for row in self.store.reports.messages(last=2)]
        self.echo(f"   while paused: {reasons[1]}; after resume: {reasons[0]}")

    def complaint_pack(self, folder: Path) -> None:
        """What the operator would bring to the police: `anti-relous report` of the flood."""
        self.echo("")
        self.echo("4. The operator makes the complaint pack of the flood.")
        self._cli("report", "--output", str(folder))

    # --- helpers ----------------------------------------------------------------------------

    def _text(self, sender: str, text: str) -> None:
        self.sim.deliver(sender, text)
        self.sent_texts += 1

    def _cli(self, *args: str) -> None:
        self.echo(f"   $ anti-relous {' '.join(args)}")
        result = subprocess.run(
            [sys.executable, "-m", "anti_relous", "--config", str(self.place.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for line in result.stdout.splitlines()[:1]:
            self.echo(f"   {line}")
        if result.returncode != 0:
            raise DemoError(f"`anti-relous {args[0]}` failed: {result.stderr.strip()}")

    def _ready(self) -> bool:
        published = self.store.line.daemon_state("modem")
        return published is not None and bool(published[0].get("identity"))

    def _decided(self) -> int:
        """Messages with their final decision (a held one is still to be decided)."""
        decisions = self._summary().decisions
        return sum(decisions.values()) - decisions.get("held", 0)

    def _summary(self) -> Summary:
        return self.store.reports.summary()

    def _calm(self, calm: timedelta) -> bool:
        newest = self.store.reports.messages(last=1)
        if not newest:
            return True
        return time.time() - newest[0].received_at.timestamp() >= calm.total_seconds() + 1

    def _wait(self, what: str, done: Callable[[], bool], *, live: bool = False) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        shown = 0.0
        while not done():
            if self.daemon.poll() is not None:
                raise DemoError(
                    f"the daemon exited ({self.daemon.returncode}) before {what}:\n"
                    + self._daemon_log_tail()
                )
            if time.monotonic() > deadline:
                raise DemoError(f"gave up waiting until {what}:\n{self._daemon_log_tail()}")
            # Only on a terminal, where the line is rewritten in place: in a file, the last
            # progress line would stay behind with figures that were never final.
            if live and self.live and time.monotonic() - shown >= TICK_S:
                self._progress()
                shown = time.monotonic()
            time.sleep(TICK_S / 5)
        if live and self.live:
            self.echo("")

    def _progress(self) -> None:
        summary = self._summary()
        attack = "ON" if self.store.line.state().under_attack else "off"
        stored = summary.inbound_messages
        decided = sum(summary.decisions.values())
        line = (
            f"   stored {stored:>5,}/{self.sent_texts:,}  decided {decided:>5,}"
            f"  replies {summary.replies_sent + summary.replies_pending:>3}"
            f"  bots blocked {summary.auto_blocked_numbers:>3}  attack {attack}"
        )
        self.echo(f"\r{line}")

    def _daemon_log_tail(self) -> str:
        log = self.place.root / "daemon.log"
        with contextlib.suppress(OSError):
            return "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        return "(no daemon log)"

    def _outcome(self, bot_numbers: list[str], started: float) -> Outcome:
        summary = self._summary()
        bots = set(bot_numbers)
        blocked = {row.target for row in self.store.line.blocks(utc_now()) if row.automatic}
        to_bots = [i for i in self.store.outbox.items(limit=100_000) if i.recipient in bots]
        alerts = [item for item in self.store.outbox.items(limit=100_000) if item.kind == "alert"]
        delays = [
            (item.sent_at - item.created_at).total_seconds()
            for item in alerts
            if item.sent_at is not None
        ]
        chain = self.store.evidence.verify()
        return Outcome(
            delivered_parts=self.sim.stats().delivered_parts,
            summary=summary,
            alerts_queued=len(alerts),
            alerts_sent=len(delays),
            alert_delay_s=max(delays, default=None),
            bots=len(bots),
            bots_blocked=len(blocked & bots),
            bot_replies=len(to_bots),
            bot_replies_sent=sum(item.state == "sent" for item in to_bots),
            chain_ok=chain.ok,
            chain_checked=chain.checked,
            cloud_price=self.config.cost.cloud_price_per_sms,
            currency=self.config.cost.currency,
            elapsed_s=time.monotonic() - started,
        )


def _replies_text(summary: Summary) -> str:
    queued = (
        summary.replies_sent
        + summary.replies_failed
        + summary.replies_unknown
        + summary.replies_pending
    )
    parts = [f"{summary.replies_sent:,} sent"]
    if summary.replies_failed:
        parts.append(f"{summary.replies_failed:,} not sent (number blocked before they left)")
    if summary.replies_pending:
        parts.append(f"{summary.replies_pending:,} still queued")
    return f"{queued:,}: {', '.join(parts)}"


def _alerts_text(outcome: Outcome) -> str:
    unsent = outcome.alerts_queued - outcome.alerts_sent
    text = f"{outcome.alerts_sent} sent"
    if outcome.alert_delay_s is not None:
        text += f", {outcome.alert_delay_s:.0f} s after the attack was seen"
    return text + (f" ({unsent} not sent)" if unsent else "")


#: Bots text from French mobile numbers 06 99 00 00 00 onwards: valid, apart from the genuine
#: texters' numbers, and a million of them.
BOT_NUMBER_BASE = 699_000_000
MAX_BOTS = 1_000_000


def bot_numbers(count: int) -> list[str]:
    """``count`` distinct valid French mobile numbers for the bots (at most MAX_BOTS)."""
    if not 0 < count <= MAX_BOTS:
        raise ValueError(f"between 1 and {MAX_BOTS:,} bots")
    return [f"+33{BOT_NUMBER_BASE + i}" for i in range(count)]


def summary_table(outcome: Outcome) -> str:
    """The closing table."""
    summary = outcome.summary
    suppressed = {r: n for r, n in summary.decisions.items() if r != "replied"}
    rows: list[tuple[str, str]] = [
        ("SMS received by the dongle", f"{outcome.delivered_parts:,}"),
        ("messages stored (with raw PDUs)", f"{summary.inbound_messages:,}"),
        ("replies queued", _replies_text(summary)),
        (
            "  to bot numbers",
            f"{outcome.bot_replies:,}, {outcome.bot_replies_sent:,} sent",
        ),
        ("suppressed, by reason:", f"{sum(suppressed.values()):,}"),
    ]
    rows += [(f"  {reason}", f"{count:,}") for reason, count in suppressed.items()]
    rows += [
        ("bots blocked automatically", f"{outcome.bots_blocked} of {outcome.bots}"),
        ("alert SMS to the operator", _alerts_text(outcome)),
        (
            "a cloud SMS line would have paid",
            f"{outcome.cloud_cost:,.2f} {outcome.currency} "
            f"({summary.inbound_parts + summary.parts_sent:,} parts x "
            f"{outcome.cloud_price:.2f})",
        ),
        (
            "this line paid per SMS",
            f"0 {outcome.currency} ({summary.parts_sent} parts on its plan)",
        ),
        (
            "evidence chain",
            f"{'OK' if outcome.chain_ok else 'BROKEN'}, {outcome.chain_checked:,} messages",
        ),
        ("demo time", f"{outcome.elapsed_s:.0f} s"),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
