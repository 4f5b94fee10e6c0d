"""Tables on S3 (the moto server): two ingesting processes, and delta-rs's optimistic concurrency on its
own: writers that share no lock retry conflicting commits and every one lands; checkpoints every 10."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import boto3
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from tests.helpers import query
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]


@pytest.fixture
def bucket(aws_env) -> str:
    boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1").create_bucket(Bucket="lake")
    return "lake"


def _options(endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}


def test_two_processes_ingesting_into_one_s3_delta_table_both_land(workdir, aws_env, bucket):
    for name, start in (("a", 0), ("b", 1000)):
        write_jsonl(workdir / name / "part.jsonl", [{"id": start + i, "day": f"2024-01-0{1 + i % 3}"} for i in range(40)])
    procs = [subprocess.Popen([sys.executable, "-m", "lakeward.cli", "ingest", str(workdir / name), "--table",
                               "db.s3t", "--format", "delta", "--partition-by", "day", "--lake", f"s3://{bucket}/w",
                               "--no-govern", "--report", str(workdir / f"{name}.json")],
                              env={**os.environ, "LAKEWARD_LOCK_WAIT_S": "300"}, cwd=workdir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert sum(json.loads((workdir / f"{n}.json").read_text())["rows_written"] for n in "ab") == 80
    table = DeltaTable(f"s3://{bucket}/w/db/s3t", storage_options=_options(aws_env))
    ids = sorted(table.to_pyarrow_table(columns=["id"])["id"].to_pylist())
    assert ids == list(range(40)) + list(range(1000, 1040))
    assert query("SELECT count(*) AS n FROM db.s3t WHERE day = DATE '2024-01-02'") == [{"n": 26}]


WRITER = textwrap.dedent("""
    import sys, uuid
    import pyarrow as pa, pyarrow.parquet as pq, pyarrow.fs as pafs
    from lakeward.tables import DataFile, delta
    from lakeward.runtime.storage import Storage
    uri, endpoint, who, commits = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    options = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
    storage = Storage({"region": "us-east-1", "access_key": "testing", "secret_key": "testing",
                       "endpoint_override": endpoint.split("//")[1], "scheme": "http"})
    schema = pa.schema([("id", pa.int64()), ("who", pa.string())])
    for n in range(commits):
        name = f"part-{who}-{n}-{uuid.uuid4().hex}.parquet"
        fs, path = storage.resolve(f"{uri}/{name}")
        pq.write_table(pa.table({"id": [n], "who": [who]}, schema=schema), path, filesystem=fs)
        files = [DataFile(name, {}, fs.get_file_info(path).size)]
        actions = delta.add_actions(storage, uri, files)
        delta.commit(uri, options, delta.DeltaCommit(schema, (), actions, f"{who}-{n}", "t", n + 1))
""")


def test_delta_writers_without_a_shared_lock_retry_conflicts_and_all_commits_land(workdir, aws_env, bucket):
    uri = f"s3://{bucket}/raw-delta/t"
    options = _options(aws_env)
    from deltalake import write_deltalake
    write_deltalake(uri, pa.table({"id": pa.array([], pa.int64()), "who": pa.array([], pa.string())}),
                    storage_options=options)
    script = workdir / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), uri, aws_env, who, "8"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for who in ("left", "right")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    table = DeltaTable(uri, storage_options=options)
    rows = table.to_pyarrow_table().to_pylist()
    assert sorted((r["who"], r["id"]) for r in rows) == sorted((w, n) for w in ("left", "right") for n in range(8))
    assert table.version() == 16


def test_lakeward_delta_tables_get_a_checkpoint_every_10_commits(workdir, glue):
    from tests.helpers import ingest
    from tests.delta_protocol import check_delta_table

    lake = workdir / "lake"
    for n in range(11):
        write_jsonl(workdir / f"raw{n}" / "p.jsonl", [{"id": n}])
        ingest(workdir / f"raw{n}", "db.cp", lake, "--format", "delta", "--no-govern")
    log = lake / "db" / "cp" / "_delta_log"
    assert (log / "00000000000000000009.checkpoint.parquet").exists()  # after the 10th commit
    assert json.loads((log / "_last_checkpoint").read_text())["version"] == 9
    checked = check_delta_table(lake / "db" / "cp")
    assert checked["checkpoint"] == 9
    assert len(checked["files"]) == 11
    reopened = DeltaTable(str(lake / "db" / "cp"))
    assert sorted(reopened.to_pyarrow_table()["id"].to_pylist()) == list(range(11))


def test_a_raw_zone_on_s3_is_read_by_spark_through_s3a_and_lands_in_an_s3_lake(workdir, s3_lake, glue):
    """Every format of the sample raw zone (JSON lines and arrays, gzip, CSV, Parquet), listed and read on
    S3, with the same rows and per-file accounting as from a local folder."""
    from lakeward.cli.demo_data import write_sample
    from tests.helpers import ingest, quarantined, query
    from tests.oracle import expected_rows, per_day

    counts = write_sample(workdir / "raw")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="raw")
    for f in sorted((workdir / "raw").iterdir()):
        s3.upload_file(str(f), "raw", f"zone/{f.name}")
    report = ingest("s3://raw/zone/", "demo.s3", s3_lake, "--partition-by", "dt=date(order_ts)", "--no-govern")
    assert {f["path"]: f["rows_read"] for f in report["files"]} == {f"s3://raw/zone/{n}": c for n, c in counts.items()}
    assert (report["rows_read"], report["rows_written"], report["rows_quarantined"]) == (77, 74, 3)
    assert len(quarantined(s3_lake, "demo", "s3")) == 3
    ours = query("SELECT CAST(dt AS VARCHAR) AS d, count(*) AS n, round(sum(amount), 2) AS s FROM demo.s3 GROUP BY 1")
    assert {r["d"]: (r["n"], r["s"]) for r in ours} == per_day(expected_rows(workdir / "raw"))


def test_without_the_s3a_jars_reading_s3_says_how_to_get_them(workdir, aws_env):
    boto3.client("s3").create_bucket(Bucket="raw")
    boto3.client("s3").put_object(Bucket="raw", Key="zone/a.jsonl", Body=b'{"id": 1}\n')
    result = subprocess.run([sys.executable, "-m", "lakeward.cli", "ingest", "s3://raw/zone/", "--table", "db.t",
                             "--lake", str(workdir / "lake"), "--no-govern"], capture_output=True, text=True,
                            env={**os.environ, "LAKEWARD_JAR_CACHE": str(workdir / "no-jars")}, cwd=workdir, timeout=300)
    assert result.returncode == 3, result.stderr
    assert 'No FileSystem for scheme "s3"' in result.stderr and "./dev.sh setup" in result.stderr, result.stderr
