"""Time ``lakeward ingest`` against plain Spark on the same input, in the same process, and print ratios.

Plain Spark baseline: spark.read.json(input) -> derive dt -> write.partitionBy("dt").parquet(out), the
least a hand-written Glue job would do (no normalisation, quarantine, ledger, catalog or report).
Usage: python bench/ingest_vs_spark.py [--mb 256] [--repeat 2] [--formats parquet,delta]
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from harness import bench_workspace


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
                    "customer": {"id": n % 5000, "Full Name": f"Customer {n % 5000}", "address": {"City": "Berlin"}},
                    "items": [{"SKU": f"sku-{n % 97}", "qty": 1 + n % 4}]}) + "\n"
                f.write(line)
                size += len(line)
                rows += 1
    return rows


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--formats", default="parquet,delta")
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from lakeward.aws import aws_context
    from lakeward.pipeline import IngestRequest, run_ingest
    from lakeward.runtime import spark_session

    with bench_workspace() as work:
        raw = work / "raw"
        rows = generate(raw, args.mb)
        spark = spark_session()
        results: dict[str, list[float]] = {"plain spark": []}
        steps: dict[str, dict[str, float]] = {}

        def plain(run: int) -> None:
            out = work / f"plain-{run}"
            (spark.read.json(str(raw)).withColumn("dt", F.to_date("Order TS"))
             .write.partitionBy("dt").parquet(str(out)))

        def ours(fmt: str, run: int) -> None:
            with aws_context() as aws:
                report = run_ingest(spark, aws, IngestRequest(str(raw), f"bench.t_{fmt}_{run}", fmt,  # type: ignore[arg-type]
                                                              "dt=date(order_ts)", str(work / "lake")))
            assert report.rows_written == rows, (report.rows_written, rows)
            steps[fmt] = report.timings

        plain(-1)  # warm-up: JIT, caches
        for run in range(args.repeat):
            results["plain spark"].append(timed(lambda r=run: plain(r)))
            for fmt in args.formats.split(","):
                results.setdefault(f"lakeward {fmt}", []).append(timed(lambda f=fmt, r=run: ours(f, r)))
        base = min(results["plain spark"])
        print(f"input: {args.mb} MB JSON lines, {rows:,} rows, 16 files; Spark master "
              f"{spark.sparkContext.master}; best of {args.repeat}")
        files = {"plain spark": len(list((work / "plain-0").rglob("*.parquet")))}
        for fmt in args.formats.split(","):
            files[f"lakeward {fmt}"] = len(list((work / "lake/bench" / f"t_{fmt}_0").rglob("*.parquet")))
        for name, times in results.items():
            best = min(times)
            print(f"{name:18s} {best:7.1f} s   {rows / best / 1e3:8.1f} k rows/s   ratio {best / base:4.2f}"
                  f"   {files[name]} files")
        for fmt, timing in steps.items():
            print(f"lakeward {fmt} steps (last run): " + ", ".join(f"{k} {v:.1f}" for k, v in timing.items()))


if __name__ == "__main__":
    main()
