"""Benchmarks in quick mode: each runs to the end and reports its figures (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/<name>.py`` with ``args`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )


def test_policy_store_benchmark_runs_quick_and_reports_every_figure(tmp_path):
    output = tmp_path / "policy_store.json"
    done = run_benchmark(
        "policy_store", "--quick", "--cache-dir", str(tmp_path), "--output", str(output)
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(output.read_text())
    assert {"p50_ms", "p99_ms", "max_ms", "steps"} <= report["decide_single"].keys()
    assert {"per_message_p50_ms", "per_message_p99_ms"} <= report["decide_batched"].keys()
    assert {"messages_per_s", "parts_per_s", "per_batch"} <= report["ingest"].keys()
    assert {"decide_p99_met", "ingest_met"} <= report["targets"].keys()
    assert report["disk"]["df"]
    for label in ("decide_single p50/p99/max ms", "ingest messages/s", "disk:"):
        assert label in done.stdout
