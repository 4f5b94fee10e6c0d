"""Two processes ingesting into one table at once: the table lock serialises them, the second plans
against what the first committed, and nothing is lost."""
import json
import os
import subprocess
import sys

import pytest

from tests.delta_protocol import check_delta_table
from tests.helpers import query
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_two_processes_evolving_one_table_both_land(workdir, glue, aws_env, table_format):
    write_jsonl(workdir / "a/a.jsonl", [{"id": i, "left": f"l{i}"} for i in range(50)])
    write_jsonl(workdir / "b/b.jsonl", [{"id": 100 + i, "right": i * 1.5} for i in range(50)])
    env = {**os.environ, "LAKEWARD_LOCK_WAIT_S": "300"}
    procs = [subprocess.Popen([sys.executable, "-m", "lakeward.cli", "ingest", str(workdir / source), "--table",
                               "db.both", "--format", table_format, "--lake", str(workdir / "lake"), "--report",
                               str(workdir / f"{source}.json")], env=env, cwd=workdir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for source in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    reports = [json.loads((workdir / f"{s}.json").read_text()) for s in ("a", "b")]
    assert sum(r["rows_written"] for r in reports) == 100
    columns = {c["Name"] for c in glue.get_table(DatabaseName="db", Name="both")["Table"]["StorageDescriptor"]["Columns"]}
    assert columns == {"id", "left", "right"}
    assert query("SELECT count(*) AS n, count(\"left\") AS l, count(\"right\") AS r FROM db.both") == [
        {"n": 100, "l": 50, "r": 50}]
    if table_format == "delta":
        live = check_delta_table(workdir / "lake/db/both")["files"]
        assert sum(json.loads(a["stats"])["numRecords"] for a in live.values()) == 100
