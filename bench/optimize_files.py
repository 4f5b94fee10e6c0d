"""File count and size distribution against the target, before and after ``lakeward optimize``.

Many small appends (a streaming or hourly feed) leave many small files; optimize compacts them. Both
formats, one table each partitioned by month (one partition), so the target size can be reached.
Usage: python bench/optimize_files.py [--batches 16] [--mb-per-batch 32]
"""
from __future__ import annotations

import argparse
import time

from harness import bench_workspace
from ingest_vs_spark import describe, generate, sizes_of


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--mb-per-batch", type=int, default=32)
    args = parser.parse_args()

    from lakeward.runtime.aws import aws_context
    from lakeward.tables.maintenance import run_optimize
    from lakeward.ingest.files import run_ingest
    from lakeward.ingest.request import IngestRequest
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import spark_session

    with bench_workspace() as work:
        settings = Settings.load()
        spark = spark_session(settings)
        for n in range(args.batches):
            generate(work / "raw" / f"b{n:03d}", args.mb_per_batch, files=2)
        print(f"{args.batches} appends of {args.mb_per_batch} MB JSON lines each; target {settings.target_bytes / 2**20:g} MB")
        for fmt in ("parquet", "delta"):
            table = f"bench.opt_{fmt}"
            started = time.perf_counter()
            with aws_context(settings) as aws:
                for n in range(args.batches):
                    run_ingest(spark, aws, IngestRequest(table, str(work / "raw" / f"b{n:03d}"), fmt,  # type: ignore[arg-type]
                                                         "m=month(order_ts)", str(work / "lake"), govern=False), settings)
                ingest_s = time.perf_counter() - started
                before = sizes_of(work / "lake/bench" / f"opt_{fmt}")
                started = time.perf_counter()
                report = run_optimize(spark, aws, table, settings)
                optimize_s = time.perf_counter() - started
            live = report.after
            print(f"{fmt:8s} {args.batches} appends {ingest_s:6.1f} s; before: {describe(before)}")
            print(f"{fmt:8s} optimize {optimize_s:6.1f} s, {report.rows:,} rows rewritten; after: {live.files} live "
                  f"files, {live.smallest / 2**20:.1f}/{live.median / 2**20:.1f}/{live.largest / 2**20:.1f} MB "
                  "min/median/max")


if __name__ == "__main__":
    main()
