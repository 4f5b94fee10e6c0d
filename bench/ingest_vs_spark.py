"""``lakeward ingest`` against plain Spark and against an awswrangler script on the same input, as ratios.

Input: nested JSON lines orders (16 files) with ``order_ts`` over 28 days and ``region`` over 3 values:
``--partitions few`` partitions by region (3 partitions), ``many`` by day (28).

Contenders, each timed best of N after a warm-up:
- plain spark: ``spark.read.json(raw).withColumn(dt).write.partitionBy(...).parquet(out)``, the least a
  hand-written Glue job does (no normalisation, quarantine, ledger, catalog or report);
- lakeward parquet / delta: the whole ingest (classification and tagging on), into a local lake;
- awswrangler (``--peers awswrangler``): pandas reads the JSON lines, ``wr.s3.to_parquet(dataset=True,
  partition_cols, database, table)`` writes to S3 on the moto server and registers the table in Glue; beside
  it lakeward into an ``s3://`` lake on the same server.

``--how process`` runs every contender in a fresh Python process, as users run a job (JVM start and
imports included; lakeward through its CLI); ``--how session`` runs Spark's and lakeward's in this
process's warm SparkSession.

Usage: python bench/ingest_vs_spark.py [--mb 170,1024] [--partitions few,many] [--how session,process]
                                       [--repeat 2] [--formats parquet,delta] [--peers spark,awswrangler]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import bench_workspace

PARTITIONS = {"few": ("region", "region"), "many": ("dt=date(order_ts)", "dt")}
PLAIN = """
import sys
from pyspark.sql import SparkSession, functions as F
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.memory", "2g").config("spark.sql.shuffle.partitions", "8").getOrCreate())
df = spark.read.json(sys.argv[1]).withColumn("dt", F.to_date("Order TS"))
df.write.partitionBy(sys.argv[3]).parquet(sys.argv[2])
"""
WRANGLER = """
import glob, sys
import awswrangler as wr, pandas as pd
frames = [pd.read_json(f, lines=True, dtype=False) for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl"))]
df = pd.concat(frames, ignore_index=True)
df.columns = [wr.catalog.sanitize_column_name(c) for c in df.columns]
df["dt"] = pd.to_datetime(df["order_ts"], utc=True).dt.date.astype(str)
if "bench" not in wr.catalog.databases()["Database"].values:
    wr.catalog.create_database("bench")
wr.s3.to_parquet(df, sys.argv[2], dataset=True, partition_cols=[sys.argv[3]], database="bench", table=sys.argv[4],
                 mode="append")
"""


def generate(folder: Path, megabytes: int, files: int = 16) -> int:
    """JSON lines orders with nested customers and items; returns the row count."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    target = megabytes * 1024 * 1024 // files
    rows = 0
    for i in range(files):
        size = 0
        with open(folder / f"part-{i:03d}.jsonl", "w") as f:
            while size < target:
                n = rows
                line = json.dumps({
                    "orderId": f"o-{n}", "Amount": rng.randint(1, 10_000) / (1 if n % 2 else 100),
                    "Currency": "EUR", "Order TS": f"2024-03-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                    "region": ("north", "south", "west")[n % 3],
                    "customer": {"id": n % 5000, "Full Name": f"Customer {n % 5000}", "address": {"City": "Berlin"}},
                    "items": [{"SKU": f"sku-{n % 97}", "qty": 1 + n % 4}]}) + "\n"
                f.write(line)
                size += len(line)
                rows += 1
    return rows


def files_written(folder: Path) -> list[int]:
    return sorted(f.stat().st_size for f in folder.rglob("*.parquet")
                  if not any(p.startswith("_") for p in f.relative_to(folder).parts))


def describe(sizes: list[int]) -> str:
    if not sizes:
        return "no files"
    mb = [s / 2**20 for s in sizes]
    return f"{len(mb)} files, {min(mb):.1f}/{statistics.median(mb):.1f}/{max(mb):.1f} MB"


def best(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for run in range(repeat):
        started = time.perf_counter()
        fn(run)
        times.append(time.perf_counter() - started)
    return min(times), times


class Contenders:
    def __init__(self, work: Path, raw: Path, rows: int, partitions: str, how: str):
        self.work, self.raw, self.rows, self.how = work, raw, rows, how
        self.spec, self.column = PARTITIONS[partitions]
        self.partitions = partitions
        self.steps: dict[str, dict[str, float]] = {}
        self.files: dict[str, str] = {}

    def out(self, name: str, run: int | str) -> Path:
        return self.work / f"{name}-{self.partitions}-{self.how}-{run}"

    def plain(self, run: int | str) -> None:
        out = self.out("plain", run)
        if self.how == "process":
            subprocess.run([sys.executable, "-c", PLAIN, str(self.raw), str(out), self.column], check=True,
                           capture_output=True)
        else:
            from pyspark.sql import functions as F

            from lakeward.runtime.spark import spark_session

            df = spark_session().read.json(str(self.raw)).withColumn("dt", F.to_date("Order TS"))
            df.write.partitionBy(self.column).parquet(str(out))
        self.files["plain spark"] = describe(files_written(out))

    def lakeward(self, fmt: str, run: int | str, lake: str | None = None) -> None:
        table = f"bench.t_{fmt}_{self.partitions}_{self.how}_{'s3' if lake else 'local'}_{run}"
        lake = lake or str(self.work / "lake")
        report_path = self.work / f"report-{table}.json"
        if self.how == "process":
            subprocess.run([sys.executable, "-m", "lakeward.cli", "ingest", str(self.raw), "--table", table,
                            "--format", fmt, "--partition-by", self.spec, "--lake", lake, "--report", str(report_path)],
                           check=True, capture_output=True)
            report = json.loads(report_path.read_text())
        else:
            from lakeward.ingest.files import run_ingest
            from lakeward.ingest.request import IngestRequest
            from lakeward.runtime.aws import aws_context
            from lakeward.runtime.settings import Settings
            from lakeward.runtime.spark import spark_session

            settings = Settings.load()
            with aws_context(settings) as aws:
                report = run_ingest(spark_session(settings), aws, IngestRequest(
                    table, str(self.raw), fmt, self.spec, lake), settings).to_dict()  # type: ignore[arg-type]
        assert report["rows_written"] == self.rows, (report["rows_written"], self.rows)
        key = f"lakeward {fmt}{' (s3 lake)' if lake.startswith('s3://') else ''}"
        self.steps[key] = report["timings"]
        self.files[key] = f"{len([f for p in report['partitions'] for f in range(p['files'])])} files"

    def wrangler(self, run: int | str, bucket: str) -> None:
        table = f"w_{self.partitions}_{self.how}_{run}"
        done = subprocess.run([sys.executable, "-c", WRANGLER, str(self.raw), f"s3://{bucket}/wrangler/{table}/",
                               self.column, table], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"the awswrangler script failed:\n{done.stderr[-3000:]}")


def run_size(megabytes: int, partitions: list[str], hows: list[str], repeat: int, formats: list[str],
             peers: list[str]) -> None:
    with bench_workspace() as work:
        raw = work / "raw"
        rows = generate(raw, megabytes)
        on_disk = sum(f.stat().st_size for f in raw.iterdir()) / 2**20
        bucket = "bench-lake"
        if "awswrangler" in peers:
            import boto3

            boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_bucket(Bucket=bucket)
        for how in hows:
            for part in partitions:
                c = Contenders(work, raw, rows, part, how)
                results: dict[str, tuple[float, list[float]]] = {}
                c.plain("warmup")
                for fmt in formats:
                    c.lakeward(fmt, "warmup")
                results["plain spark"] = best(c.plain, repeat)
                for fmt in formats:
                    results[f"lakeward {fmt}"] = best(lambda r, f=fmt: c.lakeward(f, r), repeat)
                if "awswrangler" in peers:
                    results["awswrangler (s3)"] = best(lambda r: c.wrangler(r, bucket), repeat)
                    results["lakeward parquet (s3 lake)"] = best(
                        lambda r: c.lakeward("parquet", f"s3{r}", f"s3://{bucket}/lake"), repeat)
                base = results["plain spark"][0]
                print(f"\n{megabytes} MB nominal ({on_disk:.0f} MB) JSON lines, {rows:,} rows, 16 files; partitioned "
                      f"{part} ({c.spec}); {'fresh process per run' if how == 'process' else 'one warm session'}; "
                      f"best of {repeat}")
                for name, (seconds, runs) in results.items():
                    print(f"  {name:28s} {seconds:7.1f} s  ratio {seconds / base:4.2f}  runs "
                          f"{', '.join(f'{r:.1f}' for r in runs)}  {c.files.get(name, '')}")
                for name, steps in c.steps.items():
                    print(f"  {name} steps: " + ", ".join(f"{k[:-2]} {v:.1f}" for k, v in steps.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", default="170,1024")
    parser.add_argument("--partitions", default="few,many")
    parser.add_argument("--how", default="session,process")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--formats", default="parquet,delta")
    parser.add_argument("--peers", default="spark")
    args = parser.parse_args()
    for mb in (int(x) for x in args.mb.split(",")):
        run_size(mb, args.partitions.split(","), args.how.split(","), args.repeat, args.formats.split(","),
                 args.peers.split(","))


if __name__ == "__main__":
    main()
