"""The README's main command on the embedded default: no AWS settings, separate processes, catalog
state carried from one command to the next by the embedded emulator."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.aws]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAKEWARD_"))}
    return subprocess.run([sys.executable, "-m", "lakeward.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_demo_then_query_then_ingest_in_separate_processes(tmp_path):
    demo = run("demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "rows read 77 = written 74 + quarantined 3" in demo.stdout
    assert "demo.orders (parquet): 1 of 3 partitions" in demo.stderr

    counted = run("query", "SELECT count(*) AS n FROM demo.orders_delta", "--output", "json", cwd=tmp_path)
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout) == [{"n": 74}]

    (tmp_path / "more").mkdir()
    (tmp_path / "more/x.jsonl").write_text('{"orderId": "o-1", "Amount": 1, "Order TS": "2024-03-09T00:00:00Z"}\n')
    again = run("ingest", "more", "--table", "demo.orders", "--report", "r.json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rows_written"] == 1 and report["schema_changes"] == []
    final = run("query", "SELECT count(*) AS n FROM demo.orders WHERE dt = DATE '2024-03-09'", "--output", "csv",
                cwd=tmp_path)
    assert final.stdout.splitlines() == ["n", "1"]
