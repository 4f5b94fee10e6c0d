"""The sample raw zone through the CLI into Parquet and Delta, checked in Glue, on disk, in the Delta log
and with engines that are not lakeward's (DuckDB, pyarrow, deltalake)."""
import json
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

from lakeward.cli.demo_data import write_sample
from tests.delta_protocol import check_delta_table
from tests.helpers import cli, ingest, quarantined, query
from tests.lakes import LakeDir
from tests.oracle import expected_rows, per_day

pytestmark = [pytest.mark.spark, pytest.mark.aws]
PARTITION = "dt=date(order_ts)"


@pytest.fixture
def raw(workdir) -> Path:
    write_sample(workdir / "raw")
    return workdir / "raw"


def _check_report(report: dict, raw: Path) -> None:
    expected = expected_rows(raw)
    counts = write_sample(raw.parent / "counts-only")
    assert report["rows_read"] == sum(counts.values()) == 77
    assert report["rows_written"] == len(expected) == 74
    assert report["rows_quarantined"] == 3
    assert report["rows_read"] == report["rows_written"] + report["rows_quarantined"]
    by_file = {Path(f["path"]).name: f for f in report["files"]}
    assert {n: f["rows_read"] for n, f in by_file.items()} == counts
    assert by_file["01_orders.jsonl"]["rows_quarantined"] == 2
    assert by_file["03_orders.csv"]["rows_quarantined"] == 1
    assert {tuple(p["values"].values()): p["rows_written"] for p in report["partitions"]} == {
        (day,): n for day, (n, _) in per_day(expected).items()}


def _duckdb_per_day(sql_source: str) -> dict:
    rows = duckdb.sql(f"SELECT CAST(dt AS VARCHAR), count(*), round(sum(amount), 2) FROM {sql_source} "
                      "GROUP BY 1 ORDER BY 1").fetchall()
    return {d: (n, s) for d, n, s in rows}


def test_parquet_table_lands_registered_partitioned_and_readable(raw, workdir, lake, glue):
    report = ingest(raw, "demo.orders", lake, "--partition-by", PARTITION)
    _check_report(report, raw)
    expected = per_day(expected_rows(raw))

    table = glue.get_table(DatabaseName="demo", Name="orders")["Table"]
    descriptor = table["StorageDescriptor"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["classification"] == "parquet"
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert descriptor["InputFormat"].endswith("MapredParquetInputFormat")
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [("dt", "date")]
    columns = {c["Name"]: c["Type"] for c in descriptor["Columns"]}
    assert "dt" not in columns
    assert columns["amount"] == "double"  # int in JSON lines, float in the JSON array
    assert columns["coupon_code"] == "string"  # only in the last file
    assert columns["customer"] == "struct<full_name:string,address:struct<city:string,zip:string>,id:bigint>"
    assert columns["items"] == "array<struct<sku:string,qty:bigint>>"

    partitions = glue.get_partitions(DatabaseName="demo", TableName="orders")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == list(expected)
    for p in partitions:
        folder = LakeDir(p["StorageDescriptor"]["Location"])
        assert folder.name == f"dt={p['Values'][0]}" and folder.glob("*.parquet")

    location = LakeDir(descriptor["Location"]).local_copy()
    assert _duckdb_per_day(f"read_parquet('{location}/*/*.parquet', hive_partitioning=true)") == expected

    rejected = quarantined(lake, "demo", "orders")
    assert sorted(q["raw"] for q in rejected) == sorted(
        ['o-0041,410,EUR', '{"orderId": "o-bad1", "Amount": 5,', "this is not json"])
    assert all(q["reason"].startswith("malformed") and q["source_file"] for q in rejected)

    ours = query("SELECT CAST(dt AS VARCHAR) AS d, count(*) AS n, round(sum(amount), 2) AS s "
                 "FROM demo.orders GROUP BY 1 ORDER BY 1")
    assert {r["d"]: (r["n"], r["s"]) for r in ours} == expected


def test_delta_table_log_stats_and_glue_schema_agree(raw, workdir, lake, glue):
    report = ingest(raw, "demo.orders_delta", lake, "--format", "delta", "--partition-by", PARTITION)
    _check_report(report, raw)
    location = lake / "demo/orders_delta"
    assert len(check_delta_table(location)["files"]) == len(list(location.rglob("*.parquet")))

    log = [json.loads(line) for line in (location / "_delta_log/00000000000000000000.json").read_text().splitlines()]
    kinds = [next(iter(entry)) for entry in log]
    assert "protocol" in kinds and "metaData" in kinds
    metadata = next(e["metaData"] for e in log if "metaData" in e)
    assert metadata["partitionColumns"] == ["dt"]
    schema_fields = [f["name"] for f in json.loads(metadata["schemaString"])["fields"]]
    adds = [e["add"] for e in log if "add" in e]
    stats = [json.loads(a["stats"]) for a in adds]
    assert sum(s["numRecords"] for s in stats) == 74
    assert all(a["size"] > 0 and set(a["partitionValues"]) == {"dt"} for a in adds)
    assert all("amount" in s["minValues"] and "order_id" in s["nullCount"] for s in stats)
    txn = next(e["txn"] for e in log if "txn" in e)
    record = json.loads((location / "_lakeward/ledger" / f"{report['batch_id']}.json").read_text())
    assert (txn["appId"], txn["version"]) == ("lakeward", record["delta_txn"]) == ("lakeward", 1)
    assert record["status"] == "committed"

    table = glue.get_table(DatabaseName="demo", Name="orders_delta")["Table"]
    assert table["Parameters"]["table_type"] == "DELTA"
    assert table["StorageDescriptor"]["Location"] == (str(location) if location.is_s3 else f"file://{location}")
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == schema_fields

    dt = DeltaTable(str(location), storage_options=location.storage_options())
    arrow = dt.to_pyarrow_table()
    con = duckdb.connect()
    con.register("delta_rows", arrow)
    expected = per_day(expected_rows(raw))
    assert {d: v for d, v in ((r[0], (r[1], r[2])) for r in con.sql(
        "SELECT CAST(dt AS VARCHAR), count(*), round(sum(amount), 2) FROM delta_rows GROUP BY 1 ORDER BY 1").fetchall())} == expected

    pruned = cli("query", "SELECT count(*) AS n FROM demo.orders_delta WHERE dt = DATE '2024-03-02'")
    assert pruned.exit_code == 0 and "1 of 3 partitions" in pruned.stderr
    assert query("SELECT count(*) AS n FROM demo.orders_delta WHERE dt = DATE '2024-03-02'") == [
        {"n": expected["2024-03-02"][0]}]


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_rerun_adds_nothing_and_a_new_file_adds_only_itself(raw, workdir, lake, glue, table_format):
    first = ingest(raw, "demo.t", lake, "--format", table_format, "--partition-by", PARTITION)
    again = ingest(raw, "demo.t", lake, "--format", table_format)
    assert again["rows_read"] == again["rows_written"] == 0 and again["batch_id"] is None
    assert {f["status"] for f in again["files"]} == {"skipped"}
    (raw / "08_more.jsonl").write_text('{"orderId": "o-9001", "Amount": 1, "Order TS": "2024-03-04T10:00:00Z"}\n')
    third = ingest(raw, "demo.t", lake, "--format", table_format)
    assert [(Path(f["path"]).name, f["status"]) for f in third["files"] if f["status"] != "skipped"] == [
        ("08_more.jsonl", "ingested")]
    assert third["rows_written"] == 1
    assert query("SELECT count(*) AS n FROM demo.t") == [{"n": first["rows_written"] + 1}]
    if table_format == "delta":
        assert DeltaTable(str(lake / "demo/t"), storage_options=lake.storage_options()).version() == 1
    else:
        values = sorted(p["Values"][0] for p in glue.get_partitions(DatabaseName="demo", TableName="t")["Partitions"])
        assert values == ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
