"""The quality history after its first batch is appended without a Spark job (lakeward.ingest.rows), and a
batch that brings a column the table lacks goes through the DataFrame door, which adds it. DuckDB and
pyarrow read every file back, whichever door wrote it."""
from __future__ import annotations

import uuid

import pyarrow.dataset as ds
import pytest

from lakeward.quality.results import record_results
from lakeward.runtime.aws import aws_context
from lakeward.runtime.settings import Settings
from tests.helpers import query

pytestmark = [pytest.mark.spark, pytest.mark.aws]

PASSED = [{"rule": "RowCount > 0", "outcome": "Passed", "metrics": {"Dataset.*.RowCount": 3.0}}]
FAILED = [{"rule": "RowCount > 0", "outcome": "Failed", "metrics": {"Dataset.*.RowCount": 0.0},
           "reason": "Value: 0 does not meet the constraint requirement", "action": "fail"}]


def spark_jobs(spark, record) -> int:
    """Spark jobs ``record()`` ran."""
    group = f"history-{uuid.uuid4().hex}"
    spark.sparkContext.setJobGroup(group, group)
    try:
        record()
        return len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))
    finally:
        spark.sparkContext.setJobGroup("", "")


def test_history_after_its_first_batch_is_appended_without_spark(spark, workdir, glue):
    settings, lake = Settings.load(), str(workdir / "lake")
    with aws_context(settings) as aws:
        def record(batch: str, outcomes: list[dict]) -> int:
            return spark_jobs(spark, lambda: record_results(spark, aws, settings, "db.orders", lake, batch, outcomes))

        assert record("b1", PASSED) > 0  # creates the table (its reason column waits: NULL in every row)
        assert record("b2", PASSED) == 0
        assert record("b2", PASSED) == 0  # a rerun of a batch records nothing twice
        assert record("b3", FAILED) > 0  # the first reason: the DataFrame door adds the column
        assert record("b4", FAILED) == 0
        assert record("b5", PASSED) == 0
    assert [c["Name"] for c in glue.get_table(DatabaseName="db", Name="quality_results")["Table"]["StorageDescriptor"]
            ["Columns"]][-3:] == ["labels", "evaluated_at", "reason"]
    rows = query("SELECT batch_id, outcome, value, reason IS NOT NULL AS why, evaluated_at IS NOT NULL AS at "
                 "FROM db.quality_results WHERE table_name = 'orders' ORDER BY batch_id")
    assert [(r["batch_id"], r["outcome"], r["value"], r["why"], r["at"]) for r in rows] == [
        ("b1", "Passed", 3.0, False, True), ("b2", "Passed", 3.0, False, True), ("b3", "Failed", 0.0, True, True),
        ("b4", "Failed", 0.0, True, True), ("b5", "Passed", 3.0, False, True)]
    files = ds.dataset(str(workdir / "lake/db/quality_results"), format="parquet", partitioning="hive",
                       exclude_invalid_files=True, ignore_prefixes=["_", "."])
    table = files.to_table()
    assert sorted(table["batch_id"].to_pylist()) == ["b1", "b2", "b3", "b4", "b5"]
    assert {str(f.type) for f in table.schema if f.name == "evaluated_at"} == {"timestamp[us, tz=UTC]"}
