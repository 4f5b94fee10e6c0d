"""lakeward's Delta tables and Glue 5.1's own Delta engine (delta-spark 3.3.2, in the run's Spark session
as Glue configures it for --datalake-formats delta), both ways: delta-spark reads every state lakeward
leaves a table in, row for row; delta-spark writes into a lakeward table and lakeward carries on without
losing a row or a column. Each state is read by three readers: delta-spark, delta-rs and the rows the test
expects."""
from __future__ import annotations

import json

import pytest

from tests.delta_protocol import check_delta_table
from tests.engines import _sorted, delta_rows
from tests.helpers import cli, ingest, query
from tests.lakes import LakeDir
from tests.spark.test_write_modes import batch

pytestmark = [pytest.mark.spark, pytest.mark.aws]


@pytest.fixture(autouse=True)
def delta_spark(spark):
    if "/delta-spark_" not in spark.sparkContext.getConf().get("spark.jars", ""):
        pytest.skip("delta-spark is not in the jar cache (./dev.sh setup fetches jars/spark/pom.xml)")
    assert "DeltaSparkSessionExtension" in spark.conf.get("spark.sql.extensions", ""), "the jar is there, the conf is not"
    return spark


def spark_rows(spark, location: LakeDir, columns: list[str], key: str) -> list[dict]:
    frame = spark.read.format("delta").load(str(location))
    return _sorted([row.asDict(recursive=True) for row in frame.select(*columns).collect()], key)


def both_read(spark, location: LakeDir, columns: list[str], want: dict[int, dict]) -> None:
    expected = _sorted([{c: row.get(c) for c in columns} for row in want.values()], "id")
    assert spark_rows(spark, location, columns, "id") == expected, "delta-spark"
    assert delta_rows(location, columns, "id") == expected, "delta-rs"


HIVE_NAMES = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint"}


def log_columns(location: LakeDir) -> dict[str, str]:
    """The log's columns with their types in Hive's names (the flat types these tests use)."""
    fields = json.loads(check_delta_table(location)["metadata"]["schemaString"])["fields"]
    return {f["name"]: HIVE_NAMES.get(f["type"], f["type"]) for f in fields}


def glue_columns(glue, database: str, table: str) -> dict[str, str]:
    """A Delta table's columns as Glue holds them. Glue keeps partition columns last; the log keeps a
    column another writer added where it added it, so the order may differ and is not compared."""
    t = glue.get_table(DatabaseName=database, Name=table)["Table"]
    return {c["Name"]: c["Type"] for c in t["StorageDescriptor"]["Columns"] + t.get("PartitionKeys", [])}


def test_delta_spark_reads_every_state_lakeward_leaves_a_table_in(workdir, lake, glue, delta_spark):
    location = lake / "db" / "lw"
    cities = ["New York", "a:b/c", "50%", "", "x=y"]
    rows = {i: {"id": i, "city": cities[i % 5] or None, "amount": i * 10,
                "info": {"a": i, "tags": [f"t{i}", "u"]}} for i in range(10)}
    ingest(batch(workdir, "b1", [{**r, "city": r["city"] or ""} for r in rows.values()]), "db.lw", lake,
           "--format", "delta", "--partition-by", "city", "--no-govern")
    columns = ["id", "city", "amount", "info"]
    both_read(delta_spark, location, columns, rows)

    # evolved: a new top-level column and a new nested field
    new = {i: {"id": i, "city": "New York", "amount": i, "info": {"a": i, "tags": [], "b": "nested"}, "note": "n"}
           for i in range(10, 13)}
    ingest(batch(workdir, "b2", list(new.values())), "db.lw", lake, "--no-govern")
    for row in rows.values():
        row["info"] = {**row["info"], "b": None}
        row["note"] = None
    rows |= new
    columns = ["id", "city", "amount", "info", "note"]
    both_read(delta_spark, location, columns, rows)

    # merged: an update, a delete and an insert
    changes = [{"Op": "U", "id": 1, "city": "a:b/c", "amount": 111, "info": {"a": 1, "tags": ["z"], "b": "up"}},
               {"Op": "D", "id": 2, "city": "50%", "amount": 20, "info": {"a": 2, "tags": [], "b": None}},
               {"Op": "I", "id": 40, "city": "50%", "amount": 400, "info": {"a": 40, "tags": ["new"], "b": None}}]
    ingest(batch(workdir, "cdc", changes), "db.lw", lake, "--mode", "merge", "--merge-key", "id",
           "--change-column", "Op", "--no-govern")
    rows[1] = {**rows[1], "amount": 111, "info": {"a": 1, "tags": ["z"], "b": "up"}, "note": None}
    del rows[2]
    rows[40] = {"id": 40, "city": "50%", "amount": 400, "info": {"a": 40, "tags": ["new"], "b": None}, "note": None}
    both_read(delta_spark, location, columns, rows)

    # compacted, then the replaced files vacuumed away
    assert cli("optimize", "db.lw").exit_code == 0
    both_read(delta_spark, location, columns, rows)
    gone = cli("vacuum", "db.lw", "--retain-hours", "0", "--force")
    assert gone.exit_code == 0 and "removed 0 file(s)" not in gone.output, gone.output
    both_read(delta_spark, location, columns, rows)

    # read from a checkpoint: lakeward writes one every 10 commits
    n = 100
    while not (location / "_delta_log" / "_last_checkpoint").exists():
        ingest(batch(workdir, f"more{n}", [{"id": n, "city": "x=y", "amount": n}]), "db.lw", lake, "--no-govern")
        rows[n] = {"id": n, "city": "x=y", "amount": n, "info": None, "note": None}
        n += 1
        assert n < 120, "no checkpoint after 20 commits"
    delta_spark.catalog.clearCache()
    both_read(delta_spark, location, columns, rows)
    history = delta_spark.sql(f"DESCRIBE HISTORY delta.`{str(location)}`").collect()
    assert len(history) >= 10


def test_lakeward_carries_on_after_delta_spark_wrote_into_its_table(workdir, lake, glue, delta_spark):
    from pyspark.sql import types as T

    location = lake / "db" / "mixed"
    rows = {i: {"id": i, "day": f"2024-01-0{1 + i % 2}", "amount": float(i)} for i in range(6)}
    ingest(batch(workdir, "b1", list(rows.values())), "db.mixed", lake, "--format", "delta",
           "--partition-by", "day", "--no-govern")
    uri = str(location)

    # delta-spark: an append that adds a column (mergeSchema), a MERGE and a DELETE
    schema = T.StructType([T.StructField("id", T.LongType()), T.StructField("amount", T.DoubleType()),
                           T.StructField("channel", T.StringType()), T.StructField("day", T.DateType())])
    import datetime as dt
    appended = [(10, 10.0, "web", dt.date(2024, 1, 3)), (11, 11.0, "shop", dt.date(2024, 1, 1))]
    (delta_spark.createDataFrame(appended, schema).write.format("delta").mode("append")
     .option("mergeSchema", "true").save(uri))
    for row in rows.values():
        row["channel"] = None
    rows |= {i: {"id": i, "day": d.isoformat(), "amount": a, "channel": c} for i, a, c, d in appended}
    delta_spark.createDataFrame([(1, 100.0), (20, 20.0)], "id long, amount double").createOrReplaceTempView("src")
    delta_spark.sql(f"MERGE INTO delta.`{uri}` t USING src s ON t.id = s.id "
                    "WHEN MATCHED THEN UPDATE SET t.amount = s.amount, t.channel = 'merged' "
                    "WHEN NOT MATCHED THEN INSERT (id, amount, channel, day) "
                    "VALUES (s.id, s.amount, 'merged', DATE '2024-01-02')")
    rows[1] |= {"amount": 100.0, "channel": "merged"}
    rows[20] = {"id": 20, "day": "2024-01-02", "amount": 20.0, "channel": "merged"}
    delta_spark.sql(f"DELETE FROM delta.`{uri}` WHERE id = 3")
    del rows[3]
    columns = ["id", "day", "amount", "channel"]
    both_read(delta_spark, location, columns, rows)
    assert "channel" not in glue_columns(glue, "db", "mixed")  # Glue catches up at lakeward's next write

    # lakeward appends rows without the column delta-spark added: the column and its values stay
    more = {i: {"id": i, "day": "2024-01-02", "amount": float(i)} for i in (30, 31)}
    ingest(batch(workdir, "b2", list(more.values())), "db.mixed", lake, "--no-govern")
    rows |= {i: {**r, "channel": None} for i, r in more.items()}
    both_read(delta_spark, location, columns, rows)
    assert glue_columns(glue, "db", "mixed") == log_columns(location) == {
        "id": "bigint", "amount": "double", "day": "date", "channel": "string"}

    # lakeward merges (the channel of an updated row is what the change says) and optimizes
    changes = [{"Op": "U", "id": 10, "day": "2024-01-03", "amount": 99.0, "channel": "app"},
               {"Op": "D", "id": 11, "day": "2024-01-01", "amount": 0.0}]
    ingest(batch(workdir, "cdc", changes), "db.mixed", lake, "--mode", "merge", "--merge-key", "id",
           "--change-column", "Op", "--no-govern")
    rows[10] |= {"amount": 99.0, "channel": "app"}
    del rows[11]
    both_read(delta_spark, location, columns, rows)
    assert cli("optimize", "db.mixed").exit_code == 0
    both_read(delta_spark, location, columns, rows)
    assert glue_columns(glue, "db", "mixed") == log_columns(location)
    assert query("SELECT count(*) AS n, count(channel) AS c FROM db.mixed") == [
        {"n": len(rows), "c": sum(r["channel"] is not None for r in rows.values())}]


def _comparable(row: dict) -> dict:
    """Timestamps as UTC text: pyspark gives naive local times, delta-rs aware UTC ones."""
    import datetime as dt

    return {k: (v if v.tzinfo else v.astimezone(dt.timezone.utc)).isoformat() if isinstance(v, dt.datetime) else v
            for k, v in row.items()}


def test_delta_spark_reads_timestamps_decimals_and_nested_columns_as_delta_rs_does(workdir, lake, glue, delta_spark):
    from deltalake import DeltaTable

    from lakeward.cli.demo_data import write_sample

    write_sample(workdir / "raw")
    report = ingest(workdir / "raw", "demo.typed", lake, "--format", "delta", "--partition-by", "dt=date(order_ts)",
                    "--hint", "amount=decimal(12,2)", "--no-govern")
    location = lake / "demo" / "typed"
    frame = delta_spark.read.format("delta").load(str(location))
    types = dict(frame.dtypes)
    assert (types["order_ts"], types["amount"], types["dt"]) == ("timestamp", "decimal(12,2)", "date")
    assert types["customer"].startswith("struct<") and types["items"].startswith("array<struct<")
    theirs = sorted((_comparable(r.asDict(recursive=True)) for r in frame.collect()), key=lambda r: r["order_id"])
    table = DeltaTable(str(location), storage_options=location.storage_options()).to_pyarrow_table()
    ours = sorted((_comparable(r) for r in table.to_pylist()), key=lambda r: r["order_id"])
    assert len(theirs) == report["rows_written"] == 74
    assert theirs == ours
