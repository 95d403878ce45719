"""Benchmarks in quick mode: each runs to the end and reports its figures (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_flood_benchmark_runs_quick_and_reports_every_figure(tmp_path):
    done = run_benchmark("flood", "--quick", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "flood_quick.json").read_text())
    labels = [run["label"] for run in report["runs"]]
    assert labels == ["flood, unthrottled", "flood, 115200 bit/s", "peers, 115200 bit/s"]
    for run in report["runs"]:
        assert {"drain_s", "messages_per_s", "parts_per_s", "decisions", "cost"} <= run.keys()
        assert {"cpu_ms_per_inbound_message", "rss_mb_start", "rss_mb_middle", "rss_mb_end"} <= (
            run["daemon"].keys()
        )
        assert {"high_water", "longest_full_s", "delivered_parts"} <= run["sim"].keys()
        assert run["sim"]["delivered_parts"] == run["sim"]["stored_parts_in_db"]
        assert all(check["ok"] for check in run["audit"].values()), run["audit"]
    assert report["runs"][2]["line"]["share_of_line_bound"] is not None
    for label in ("CPU ms / inbound message", "genuine answered / texters", "audit:"):
        assert label in done.stdout


def test_report_benchmark_runs_quick_and_reports_every_figure(tmp_path):
    output = tmp_path / "report.json"
    done = run_benchmark("report", "--quick", "--output", str(output))
    assert done.returncode == 0, done.stderr
    report = json.loads(output.read_text())
    assert [line["line"] for line in report["lines"]] == ["demo", "flood"]
    for line in report["lines"]:
        assert {"messages", "fill_s", "report_s_median", "report_s_runs"} <= line.keys()
        assert line["breakdown_s"]["messages"] == line["messages"]
        assert {"html and chart", "messages.csv", "SHA256SUMS"} <= line["breakdown_s"].keys()
    for label in ("report s (median)", "breakdown, flood:", "goal: under 60 s"):
        assert label in done.stdout
