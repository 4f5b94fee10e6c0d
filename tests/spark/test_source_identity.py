"""A source file is known by its content, not only its time: a re-copy adds nothing, and a file whose
content changed is held back (nothing duplicated) unless the user asks to take it again."""
from __future__ import annotations

import os
import shutil

import boto3
import pytest
from deltalake import DeltaTable

from lakeward.runtime.storage import Storage
from tests.helpers import cli, ingest, query
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]


def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"id": start + i, "day": f"2024-01-0{1 + i % 3}"} for i in range(n)]


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_recopied_or_touched_file_is_not_ingested_again(workdir, glue, fmt):
    lake = workdir / "lake"
    source = write_jsonl(workdir / "raw/orders.jsonl", _rows(300))
    write_jsonl(workdir / "raw/other.jsonl", _rows(5, 1000))
    first = ingest(workdir / "raw", f"db.copy_{fmt}", lake, "--format", fmt, "--partition-by", "day")
    assert first["rows_written"] == 305
    shutil.copyfile(source, workdir / "orders.tmp")  # a re-copy: same bytes, a new time
    os.replace(workdir / "orders.tmp", source)
    os.utime(workdir / "raw/other.jsonl", (1_900_000_000, 1_900_000_000))  # a touch
    second = ingest(workdir / "raw", f"db.copy_{fmt}", lake)
    assert second["rows_read"] == second["rows_written"] == 0
    assert sorted(f["status"] for f in second["files"]) == ["skipped", "skipped"]
    assert all("same content as ingested in batch" in f["reason"] for f in second["files"])
    assert query(f"SELECT count(*) AS n FROM db.copy_{fmt}") == [{"n": 305}]


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_changed_file_is_held_back_until_taken_explicitly(workdir, glue, fmt):
    lake = workdir / "lake"
    table = f"db.changed_{fmt}"
    source = write_jsonl(workdir / "raw/orders.jsonl", _rows(30))
    ingest(workdir / "raw", table, lake, "--format", fmt, "--partition-by", "day")
    write_jsonl(source, _rows(31))  # a row appended to the same file
    write_jsonl(workdir / "raw/new.jsonl", _rows(2, 500))
    held = ingest(workdir / "raw", table, lake)
    statuses = {f["path"].rsplit("/", 1)[-1]: f for f in held["files"]}
    assert statuses["orders.jsonl"]["status"] == "held"
    assert "size changed from" in statuses["orders.jsonl"]["reason"]
    assert "changed_files: reingest" in statuses["orders.jsonl"]["reason"]
    assert statuses["new.jsonl"]["status"] == "ingested" and held["rows_written"] == 2
    assert query(f"SELECT count(*) AS n FROM {table}") == [{"n": 32}]
    shown = cli("ingest", str(workdir / "raw"), "--table", table, "--lake", str(lake))
    assert shown.exit_code == 0 and "held back: 1 file(s)" in shown.output
    taken = ingest(workdir / "raw", table, lake, "--changed-files", "reingest")
    assert [f["status"] for f in taken["files"] if f["path"].endswith("orders.jsonl")] == ["changed"]
    assert taken["rows_written"] == 31
    assert query(f"SELECT count(*) AS n FROM {table}") == [{"n": 63}]
    again = ingest(workdir / "raw", table, lake)  # the new version is now the one the ledger holds
    assert again["rows_read"] == 0 and {f["status"] for f in again["files"]} == {"skipped"}
    if fmt == "delta":
        assert DeltaTable(str(lake / "db" / f"changed_{fmt}")).to_pyarrow_table().num_rows == 63


def test_a_bad_changed_files_setting_names_the_option(workdir, glue):
    write_jsonl(workdir / "lakeward.yaml.rows/x.jsonl", _rows(1))
    (workdir / "lakeward.yaml").write_text(f"tables:\n  db.t:\n    source: {workdir}/lakeward.yaml.rows\n"
                                           f"    changed_files: replace\n")
    result = cli("ingest", "--spec", str(workdir / "lakeward.yaml"))
    assert result.exit_code == 2 and "changed_files" in result.output and "hold" in result.output


def test_s3_listing_carries_the_etag_a_copy_keeps(aws_env):
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    s3.create_bucket(Bucket="raw")
    s3.put_object(Bucket="raw", Key="in/a.json", Body=b'{"a": 1}\n')
    storage = Storage({"region": "us-east-1", "access_key": "testing", "secret_key": "testing",
                       "endpoint_override": aws_env.split("//")[1], "scheme": "http"}, s3)
    [before] = storage.list_files("s3://raw/in")
    s3.copy_object(Bucket="raw", Key="in/a.json", CopySource={"Bucket": "raw", "Key": "in/a.json"},
                   MetadataDirective="REPLACE", Metadata={"copied": "yes"})
    [after] = storage.list_files("s3://raw/in")
    assert before.etag and after.etag == before.etag
    assert storage.list_files("s3://raw/in/a.json")[0].etag == before.etag
    s3.put_object(Bucket="raw", Key="in/a.json", Body=b'{"a": 2}\n')
    assert storage.list_files("s3://raw/in")[0].etag != before.etag
    s3.put_object(Bucket="raw", Key="in/_hidden/b.json", Body=b"{}")
    assert [e.uri for e in storage.list_files("s3://raw/in")] == ["s3://raw/in/a.json"]
