from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lakeward.cli.main import main
from tests.lakes import LakeDir


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def ingest(source: Path, table: str, lake: Path | LakeDir, *extra: str) -> dict:
    reports = Path.cwd() if str(lake).startswith("s3://") else Path(str(lake)).parent
    report = reports / f"report-{table}-{len(list(reports.glob('report-*')))}.json"
    result = cli("ingest", str(source), "--table", table, "--lake", str(lake), "--report", str(report), *extra)
    assert result.exit_code == 0, result.output
    return json.loads(report.read_text())


def query(sql: str) -> list[dict]:
    result = cli("query", sql, "--output", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def quarantined(lake: Path | LakeDir, database: str, table: str, pattern: str = "*.json") -> list[dict]:
    """Every JSON line quarantined for a table (rows by default; files.jsonl with pattern)."""
    return [json.loads(line) for f in (LakeDir(lake) / "_quarantine" / database / table).rglob(pattern)
            for line in f.read_text().splitlines()]


def kill_after_commits(start, send, delta_log: Path, trials: int, seed: int) -> int:
    """``trials`` times: start a consumer process, send records, wait for its next commit, send more, kill it
    with SIGKILL at a random moment. Returns how many records were sent."""
    import random
    import signal
    import time

    def commits() -> int:
        return len(list(delta_log.glob("*.json")))

    rng = random.Random(seed)
    sent = 0
    for _ in range(trials):
        before = commits()
        victim = start()
        sent += send(sent)
        deadline = time.monotonic() + 90
        while commits() == before and time.monotonic() < deadline:
            time.sleep(0.1)
        sent += send(sent)  # more, arriving while it runs
        time.sleep(rng.uniform(0.0, 1.5))
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=60)
        assert commits() > before
    return sent
