"""What a micro-batch merge costs as the table grows: 1,000 changes (updates of recent keys, a few inserts
and deletes, DMS-style Op) merged into Delta tables of 10x, 100x and 1,000x the batch, in one warm
SparkSession against the moto server. The tables are built by appends of increasing ids (50 of them, or
one per batch size for the smallest), as a stream leaves a table; the merge reads only the files whose
key range holds a key of the batch (the log's min/max statistics), so its time should not grow with the
table.

Usage: python bench/merge_scaling.py [--sizes 10,100,1000] [--repeat 3] [--target-mb 4]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from harness import bench_workspace


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target-mb", type=float, default=4.0)
    args = parser.parse_args()
    batch = 1000
    with bench_workspace() as work:
        from pyspark.sql import functions as F

        from lakeward.ingest.frames import ingest_frame
        from lakeward.ingest.request import IngestRequest
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.runtime.spark import spark_session
        from lakeward.tables.write_modes import WriteSettings

        settings = Settings.load({}, target_file_mb=(args.target_mb, "--target-mb"))
        spark = spark_session(settings)
        with aws_context(settings) as aws:
            for factor in (int(s) for s in args.sizes.split(",")):
                rows = batch * factor
                table = f"bench.m{factor}"
                base = IngestRequest(table, format="delta", lake=str(work / "lake"), govern=False)
                chunk = max(batch, rows // 50)
                for start in range(0, rows, chunk):
                    frame = spark.range(start, min(rows, start + chunk)).select(
                        F.col("id"), (F.col("id") % 997).alias("qty"),
                        F.concat(F.lit("sku-"), (F.col("id") % 101).cast("string")).alias("sku"),
                        (F.col("id") * 0.5).alias("amount"))
                    ingest_frame(spark, aws, base, frame, settings=settings)
                merge = IngestRequest(table, lake=str(work / "lake"), govern=False,
                                      write=WriteSettings("merge", ("id",), "op"))
                timings, scanned = [], []
                for r in range(args.repeat):
                    top = rows + r * 10
                    changes = (spark.range(top - 990, top + 10)  # 990 recent keys updated or deleted, 10 inserted
                               .select(F.col("id"), F.lit(1).alias("qty"), F.lit("sku-x").alias("sku"),
                                       F.lit(1.0).alias("amount"),
                                       F.when(F.col("id") >= top, "I").when(F.col("id") % 50 == 0, "D")
                                       .otherwise("U").alias("op")))
                    started = time.perf_counter()
                    report = ingest_frame(spark, aws, merge, changes, settings=settings)
                    timings.append(time.perf_counter() - started)
                    scanned.append((report.merge.get("files_scanned"), report.merge.get("files_live")))
                print(json.dumps({"table_rows": rows, "batch": batch, "merge_s_best": round(min(timings), 2),
                                  "merge_s_median": round(statistics.median(timings), 2),
                                  "files_scanned_of_live": scanned[-1]}), flush=True)


if __name__ == "__main__":
    main()
