"""The fixed cost of a batch: what a 1,000-record batch costs when the table already holds its schema.

1. In one warm SparkSession, a 1,000-record DataFrame appended to an existing Delta and Parquet table
   (partitioned by day), frame in -> committed and registered in Glue (moto server): ``ingest_frame``
   (lock, state, batch, release: what a job does) and ``TableWriter.ingest`` in one open session (what
   a stream does). Best and median of N, and the report's seconds per step.
2. The 1-row file through the CLI, each in a fresh process as users run it, against plain Spark's read
   and write of the same file in a fresh process.

Usage: python bench/batch_overhead.py [--repeat 10] [--cli-repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import bench_workspace

PLAIN = """
import sys
from pyspark.sql import SparkSession, functions as F
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "8").getOrCreate())
spark.read.json(sys.argv[1]).withColumn("dt", F.to_date("order_ts")).write.mode("append").partitionBy("dt").parquet(sys.argv[2])
"""


def _rows(batch: int, n: int) -> list[dict]:
    return [{"order_id": f"o-{batch}-{i}", "amount": i * 1.5, "status": "NEW", "qty": i,
             "order_ts": f"2024-03-0{1 + i % 3}T10:00:00Z"} for i in range(n)]


def in_process(work: Path, repeat: int) -> None:
    from lakeward.ingest.frames import frame_batch, ingest_frame
    from lakeward.ingest.request import IngestRequest
    from lakeward.ingest.table_writer import TableWriter
    from lakeward.runtime.aws import aws_context
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import spark_session

    settings = Settings.load()
    spark = spark_session(settings)
    frames = [spark.createDataFrame(_rows(b, 1000)).cache() for b in range(repeat + 1)]
    for f in frames:
        f.count()
    print(f"1,000-record batches appended to an existing table (partitioned by day, 3 days per batch); best / median "
          f"of {repeat}; Spark {spark.sparkContext.master}")
    with aws_context(settings) as aws:
        for fmt in ("parquet", "delta"):
            request = IngestRequest(f"bench.overhead_{fmt}", format=fmt, partition_by="dt=date(order_ts)",  # type: ignore[arg-type]
                                    lake=str(work / "lake"))
            ingest_frame(spark, aws, request, frames[0], settings=settings)  # creates the table
            for label, run in (("ingest_frame", None), ("session", True)):
                times, steps = [], []
                if run:
                    writer = TableWriter(spark, aws, request, settings).__enter__()
                for b in range(1, repeat + 1):
                    started = time.perf_counter()
                    if run:
                        report = writer.ingest(frame_batch(frames[b]))
                    else:
                        report = ingest_frame(spark, aws, request, frames[b], settings=settings)
                    times.append(time.perf_counter() - started)
                    steps.append(report.timings)
                    assert report.rows_written == 1000 and not report.schema_changes
                if run:
                    writer.__exit__(None, None, None)
                mean_steps = {k: statistics.median(s.get(k, 0.0) for s in steps) for k in steps[-1]}
                print(f"  {fmt:8s} {label:13s} best {min(times):5.2f} s  median {statistics.median(times):5.2f} s  "
                      f"steps (median): " + ", ".join(f"{k[:-2]} {v:.2f}" for k, v in mean_steps.items()))


def fresh_processes(work: Path, repeat: int) -> None:
    raw = work / "one"
    raw.mkdir()
    (raw / "one.jsonl").write_text(json.dumps(_rows(0, 1)[0]) + "\n")
    env = {**os.environ, "LAKEWARD_LAKE": str(work / "cli-lake")}
    def command(path: Path) -> list[str]:
        return [sys.executable, "-m", "lakeward.cli", "ingest", str(path), "--partition-by", "dt=date(order_ts)"]

    def timed(command: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run(command, check=True, env=env, capture_output=True)
        return time.perf_counter() - started

    results: dict[str, list[float]] = {}
    for run in range(repeat + 1):  # the first run of each creates the table
        t = timed([sys.executable, "-c", PLAIN, str(raw / "one.jsonl"), str(work / "plain-out")])
        if run:
            results.setdefault("plain spark", []).append(t)
        for fmt in ("parquet", "delta"):
            new = raw / f"{fmt}-{run}.jsonl"  # a new file, as an hourly drop brings (a changed one is held back)
            new.write_text(json.dumps({**_rows(run, 1)[0], "order_id": f"o-{fmt}-{run}"}) + "\n")
            t = timed([*command(new), "--table", f"bench.cli_{fmt}", "--format", fmt])
            if run:
                results.setdefault(f"lakeward {fmt}", []).append(t)
    base = min(results["plain spark"])
    print(f"1-row JSON file, each command in a fresh process (JVM start included), best of {repeat}:")
    for name, times in results.items():
        print(f"  {name:16s} best {min(times):5.1f} s  median {statistics.median(times):5.1f} s  ratio "
              f"{min(times) / base:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cli-repeat", type=int, default=3)
    args = parser.parse_args()
    with bench_workspace() as work:
        in_process(work, args.repeat)
        if args.cli_repeat:
            fresh_processes(work, args.cli_repeat)


if __name__ == "__main__":
    main()
