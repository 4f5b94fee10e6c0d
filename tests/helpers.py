from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lakeward.cli.main import main


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def ingest(source: Path, table: str, lake: Path, *extra: str) -> dict:
    report = lake.parent / f"report-{table}-{len(list(lake.parent.glob('report-*')))}.json"
    result = cli("ingest", str(source), "--table", table, "--lake", str(lake), "--report", str(report), *extra)
    assert result.exit_code == 0, result.output
    return json.loads(report.read_text())


def query(sql: str) -> list[dict]:
    result = cli("query", sql, "--output", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def quarantined(lake: Path, database: str, table: str, pattern: str = "*.json") -> list[dict]:
    """Every JSON line quarantined for a table (rows by default; files.jsonl with pattern)."""
    return [json.loads(line) for f in (lake / "_quarantine" / database / table).rglob(pattern)
            for line in f.read_text().splitlines()]
