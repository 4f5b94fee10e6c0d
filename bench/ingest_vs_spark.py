"""Time ``lakeward ingest`` against plain Spark on the same input, in the same process, and print ratios.

Plain Spark baseline: spark.read.json(input) -> derive dt -> write.partitionBy("dt").parquet(out), the
least a hand-written Glue job would do (no normalisation, quarantine, ledger, catalog or report).
Usage: python bench/ingest_vs_spark.py [--mb 256[,512,1024]] [--repeat 2] [--formats parquet,delta]
Several sizes show how the cost grows; each size prints the ratios and the written files' sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
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


def sizes_of(folder: Path) -> list[int]:
    return sorted(f.stat().st_size for f in folder.rglob("*.parquet")
                  if not any(p.startswith("_") for p in f.relative_to(folder).parts))


def describe(sizes: list[int]) -> str:
    if not sizes:
        return "no files"
    mb = [s / 2**20 for s in sizes]
    return f"{len(mb)} files, {min(mb):.1f}/{statistics.median(mb):.1f}/{max(mb):.1f} MB min/median/max"


def run_size(megabytes: int, repeat: int, formats: list[str]) -> None:
    from pyspark.sql import functions as F

    from lakeward.runtime.aws import aws_context
    from lakeward.ingest.files import run_ingest
    from lakeward.ingest.request import IngestRequest
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import spark_session

    with bench_workspace() as work:
        raw = work / "raw"
        rows = generate(raw, megabytes)
        settings = Settings.load()
        spark = spark_session(settings)
        results: dict[str, list[float]] = {"plain spark": []}
        steps: dict[str, dict[str, float]] = {}

        def plain(run: int) -> None:
            out = work / f"plain-{run}"
            (spark.read.json(str(raw)).withColumn("dt", F.to_date("Order TS"))
             .write.partitionBy("dt").parquet(str(out)))

        def ours(fmt: str, run: int | str) -> None:
            with aws_context(settings) as aws:
                report = run_ingest(spark, aws, IngestRequest(f"bench.t_{fmt}_{run}", str(raw), fmt,  # type: ignore[arg-type]
                                                              "dt=date(order_ts)", str(work / "lake")), settings)
            assert report.rows_written == rows, (report.rows_written, rows)
            steps[fmt] = report.timings

        plain(-1)  # warm-up: JIT, caches, Python workers
        ours(formats[0], "warmup")
        for run in range(repeat):
            results["plain spark"].append(timed(lambda r=run: plain(r)))
            for fmt in formats:
                results.setdefault(f"lakeward {fmt}", []).append(timed(lambda f=fmt, r=run: ours(f, r)))
        base = min(results["plain spark"])
        on_disk = sum(f.stat().st_size for f in raw.iterdir()) / 2**20
        print(f"input: {megabytes} MB nominal ({on_disk:.0f} MB) JSON lines, {rows:,} rows, 16 files; Spark master "
              f"{spark.sparkContext.master}; best of {repeat}; target file size "
              f"{float(os.environ.get('LAKEWARD_TARGET_FILE_MB', '128')):g} MB")
        files = {"plain spark": sizes_of(work / "plain-0")}
        for fmt in formats:
            files[f"lakeward {fmt}"] = sizes_of(work / "lake/bench" / f"t_{fmt}_0")
        for name, times in results.items():
            best = min(times)
            print(f"{name:18s} {best:7.1f} s   {rows / best / 1e3:8.1f} k rows/s   ratio {best / base:4.2f}   "
                  f"(runs {', '.join(f'{t:.1f}' for t in times)})   {describe(files[name])}")
        for fmt, timing in steps.items():
            print(f"lakeward {fmt} steps (last run): " + ", ".join(f"{k} {v:.1f}" for k, v in timing.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", default="256", help="input size(s) in MB, comma-separated")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--formats", default="parquet,delta")
    args = parser.parse_args()
    for megabytes in (int(m) for m in args.mb.split(",")):
        run_size(megabytes, args.repeat, args.formats.split(","))


if __name__ == "__main__":
    main()
