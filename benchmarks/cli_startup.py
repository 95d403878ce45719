"""CLI start-up: `anti-relous status --json` wall time against `python -c pass`, same venv.

Issues 5 and 17's target: under 3x. Both commands run as fresh processes, alternately (so a
busy moment on the box hits both), many times; the medians are compared. The line is a real
one: the config `anti-relous init` writes, a database holding a day of traffic (3,000 messages,
their decisions and replies) and a daemon state, so `status` runs every query it runs in
production. Then where the time goes: a floor (a click command with the stdlib modules such a
command needs, reading the config and running one query, without this package); what `status`
spends beyond it, module by module: each module it imports that the floor does not, by its own
import time (`python -X importtime`, the least of several runs), each dataclass built during the
run (a ``@frozen_dataclass`` is built only when first used, so this lists what `status` really
makes), and the rest (opening the config and the store, the queries, the JSON); last, the
imports it shares with the floor, by library.

    .venv/bin/python benchmarks/cli_startup.py            # 60 runs of each
    .venv/bin/python benchmarks/cli_startup.py --runs 200

Writes benchmarks/results/cli_startup.json.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from anti_relous.admin.provision import config_text
from anti_relous.cli import cli
from anti_relous.config import load_config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.policy import Rules
from anti_relous.simulator.sandbox import SimulateDir
from anti_relous.sms import DecodedPart, PartKind, ReceivedPart
from anti_relous.store import Store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "cli_startup.json"
TARGET_RATIO = 3.0
MESSAGES = 3000


def fill(place: SimulateDir) -> None:
    """The config `anti-relous init` writes, and a database holding a day of traffic."""
    place.root.mkdir(parents=True, exist_ok=True)
    place.config.write_text(config_text(place.database), encoding="utf-8")
    config = load_config(place.config)
    now = datetime.now(UTC)
    with Store.open(place.database) as store:
        for batch in range(MESSAGES // 100):
            at = now - timedelta(hours=23) + timedelta(minutes=batch * 14)
            parts = [
                ReceivedPart(
                    storage="SM",
                    index=i,
                    pdu=f"bench-{batch}-{i}".encode(),
                    kind=PartKind.DELIVER,
                    decoded=DecodedPart(f"+3361{(batch * 100 + i) % 300:07d}", "salut", at, "gsm7"),
                )
                for i in range(100)
            ]
            store.inbound.ingest(parts, at, "FR")
            decide_pending(store, Rules.from_config(config), Texts.from_config(config), at)
        store.line.put_daemon_state(
            now, "daemon", {"pid": os.getpid(), "started_at": now.isoformat(),
                            "state": "running", "status": "polling"},
        )  # fmt: skip


def wall_times(commands: list[list[str]], runs: int) -> list[list[float]]:
    """Seconds per run of each command, the commands alternating."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
            times[index].append(time.perf_counter() - start)
    return times


def import_self_times(command: list[str], runs: int) -> tuple[dict[str, float], dict[str, str]]:
    """Each module's own import time (ms, not counting what it imports), the minimum over
    ``runs`` runs of ``command`` under ``python -X importtime`` (the least noisy estimate), and
    the module that imported each one."""
    best: dict[str, float] = {}
    parents: dict[str, str] = {}
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", *command],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        # One line per module, printed once it is imported: its importer is the next line
        # printed less indented.
        rows = []
        for line in result.stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if len(fields) == 3 and fields[0].strip().isdigit():
                name = fields[2].rstrip()
                rows.append((len(name) - len(name.lstrip()), name.strip(), int(fields[0]) / 1000))
        for index, (depth, name, ms) in enumerate(rows):
            best[name] = min(best.get(name, ms), ms)
            importer = next((n for d, n, _ in rows[index + 1 :] if d < depth), None)
            if importer is not None:
                parents[name] = importer
    return best, parents


def status_imports(arguments: list[str]) -> list[str]:
    """Python's arguments to run `anti-relous` with ``arguments``, importing the command's
    module first: ``-X importtime`` does not see what ``importlib.import_module`` imports (how
    the CLI loads a command's module), only the modules that module imports in turn."""
    module = cli.lazy_commands[arguments[arguments.index("status")]]
    program = f"import sys, {module}; from anti_relous.cli import main; main()"
    return ["-c", program, *arguments]


#: Libraries counted whole, with the stdlib modules they import.
LIBRARIES = ("click", "tomllib", "sqlite3", "json", "dataclasses")


def owner(module: str, parents: dict[str, str]) -> str:
    """Who brought ``module`` in: itself if it is ours or a library of LIBRARIES, else the
    nearest importer that is; "stdlib" for what the command imports directly."""
    while True:
        if module.startswith("anti_relous") or module.split(".")[0] in LIBRARIES:
            return module.split(".")[0] if not module.startswith("anti_relous") else module
        if module not in parents:
            return "stdlib"
        module = parents[module]


def import_breakdown(
    status: list[str], floor: list[str], runs: int
) -> tuple[dict[str, float], dict[str, float]]:
    """What `status` imports that `python -c pass` does not, ms of import: the modules the
    floor does not import too, one by one, and those it does, by who brings them in the
    floor."""
    baseline, _ = import_self_times(["-c", "pass"], runs)
    in_floor, parents = import_self_times(floor, runs)
    times, _ = import_self_times(status, runs)
    beyond: dict[str, float] = {}
    shared: dict[str, float] = {}
    for module, ms in times.items():
        if module in baseline:
            continue
        if module not in in_floor:
            beyond[module] = ms
        else:
            who = owner(module, parents)
            shared[who] = shared.get(who, 0.0) + ms
    return _by_cost(beyond), _by_cost(shared)


def _by_cost(costs: dict[str, float]) -> dict[str, float]:
    return dict(sorted(costs.items(), key=lambda item: -item[1]))


#: Runs `status --json` in-process, timing every dataclass built (at import, or on first use
#: for @frozen_dataclass classes) and the whole command.
DATACLASS_COST = """
import contextlib, dataclasses, io, sys, time
built, original = [], dataclasses._process_class
def timed(cls, *args, **kwargs):
    started = time.perf_counter()
    try:
        return original(cls, *args, **kwargs)
    finally:
        built.append((f"{cls.__module__}.{cls.__qualname__}", time.perf_counter() - started))
dataclasses._process_class = timed
sys.argv = ["anti-relous", "--config", sys.argv[1], "status", "--json"]
from anti_relous.cli import cli
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    cli(prog_name="anti-relous")
for name, seconds in built:
    print(name, seconds * 1000)
"""


def dataclasses_built(config: Path, runs: int) -> list[tuple[str, float]]:
    """(class, ms building it, the least of ``runs`` runs) for every dataclass a
    `status --json` run builds, in the order they are built."""
    best: dict[str, float] = {}
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", DATACLASS_COST, str(config)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        for name, ms in (line.split() for line in result.stdout.splitlines()):
            best[name] = min(best.get(name, float(ms)), float(ms))
    return list(best.items())


#: The floor: what any click command reading this TOML and this SQLite file pays, without us.
#: Like `status`, it parses options (click then loads its translations, which imports locale)
#: and prints JSON; it imports only stdlib modules `status` imports too.
FLOOR = """
import click, dataclasses, datetime, enum, json, re, sqlite3, sys, tomllib

@click.group()
@click.option("--config")
def cli(config):
    pass

@cli.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json):
    tomllib.loads(open(sys.argv[1], encoding="utf-8").read())
    rows = sqlite3.connect(sys.argv[2]).execute("SELECT count(*) FROM messages").fetchall()
    click.echo(json.dumps(rows))

cli(["--config", sys.argv[1], "status", "--json"])
"""


def compile_package() -> None:
    """Byte-compile the package, as `pip install` does for a real install.

    An editable install in a shell with PYTHONDONTWRITEBYTECODE=1 (as here) would otherwise
    recompile every module of ours on every run, which no installed line ever does.
    """
    package = ROOT / "anti_relous"
    if not compileall.compile_dir(package, quiet=1):
        sys.exit(f"could not byte-compile {package}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--import-runs", type=int, default=9, help="runs of -X importtime")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="anti-relous-bench-"))
    try:
        place = SimulateDir(root)
        fill(place)
        cli = shutil.which("anti-relous", path=str(Path(sys.executable).parent))
        if cli is None:
            sys.exit("anti-relous is not installed in this venv: pip install -e .")
        status = [cli, "--config", str(place.config), "status", "--json"]
        compile_package()
        check = subprocess.run(status, capture_output=True, text=True, check=False)
        if check.returncode != 0:
            sys.exit(f"status failed ({check.returncode}): {check.stderr}")
        floor = [sys.executable, "-c", FLOOR, str(place.config), str(place.database)]
        baseline, measured, floored = wall_times(
            [[sys.executable, "-c", "pass"], status, floor], args.runs
        )
        beyond, shared = import_breakdown(status_imports(status[1:]), floor[1:], args.import_runs)
        built = dataclasses_built(place.config, args.import_runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base_ms = statistics.median(baseline) * 1000
    status_ms = statistics.median(measured) * 1000
    floor_ms = statistics.median(floored) * 1000
    ratio = status_ms / base_ms
    beyond_ms = sum(beyond.values())
    built_ms = sum(ms for _, ms in built)
    rest_ms = status_ms - floor_ms - beyond_ms - built_ms
    print(f"python -c pass            median {base_ms:6.1f} ms")
    print(f"anti-relous status --json median {status_ms:6.1f} ms")
    verdict = "met" if ratio < TARGET_RATIO else "MISSED"
    print(f"ratio {ratio:.2f}x (target < {TARGET_RATIO:.0f}x: {verdict})")
    print(
        f"floor: a click command reading the config and running one query, no anti_relous: "
        f"{floor_ms:.1f} ms = {floor_ms / base_ms:.2f}x"
    )
    print(
        f"status beyond the floor: {status_ms - floor_ms:.1f} ms = "
        f"{(status_ms - floor_ms) / base_ms:.2f}x, of which"
    )
    print(
        f"  imports the floor does not make: {beyond_ms:.1f} ms (own time of each module, "
        f"least of {args.import_runs} runs)"
    )
    for name, ms in beyond.items():
        if ms >= 0.05:
            print(f"    {ms:6.2f}  {name}")
    print(
        f"  dataclasses built while status runs: {len(built)}, {built_ms:.1f} ms (least of "
        f"{args.import_runs} runs; those built at import are in their module's time above)"
    )
    for name, ms in built:
        print(f"    {ms:6.2f}  {name}")
    print(
        f"  the rest: {rest_ms:.1f} ms (config and store opened and checked, the queries, "
        "the JSON, more to tear down; the difference of medians, so noisy)"
    )
    print(
        "imports status shares with the floor: "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in shared.items() if ms >= 0.05)
        + " ms"
    )
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "runs": args.runs,
        "python_pass_median_ms": round(base_ms, 1),
        "status_json_median_ms": round(status_ms, 1),
        "ratio": round(ratio, 2),
        "floor_median_ms": round(floor_ms, 1),
        "floor_ratio": round(floor_ms / base_ms, 2),
        "imports_beyond_floor_ms": {name: round(ms, 2) for name, ms in beyond.items()},
        "dataclasses_built": {name: round(ms, 2) for name, ms in built},
        "rest_beyond_floor_ms": round(rest_ms, 1),
        "imports_shared_with_floor_ms": {name: round(ms, 2) for name, ms in shared.items()},
        "bytecode": "compiled first, as an installed package is",
        "target_ratio": TARGET_RATIO,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
