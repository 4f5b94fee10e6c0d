"""Should lakeward on Glue hand Delta writes to delta-spark (Glue 5.1's own Delta engine) where it is
present? The same frame appended to a Delta table partitioned by day, in one warm SparkSession:

- delta-spark: ``frame.write.format("delta").mode("append").partitionBy("day")`` (files and commit; no
  Glue table, no ledger, no lock);
- lakeward: ``ingest_frame`` (tasks write the files with pyarrow, delta-rs commits with a conditional put,
  then the ledger and the Glue table).

Each size runs ``--repeat`` appends per arm, alternating arms; the first append of each arm (it creates
the table) is not counted; lakeward's own step timings of its last append are printed. Usage: python bench/delta_spark_commit.py [--rows 1000,4000000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from harness import bench_workspace


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="1000,4000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with bench_workspace() as work:
        from pyspark.sql import functions as F

        from lakeward.ingest.frames import ingest_frame
        from lakeward.ingest.request import IngestRequest
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.runtime.spark import spark_session

        settings = Settings.load({})
        with aws_context(settings) as aws:
            spark = spark_session(settings, aws)
            for rows in (int(r) for r in args.rows.split(",")):
                def frame(offset: int, rows: int = rows):  # type: ignore[no-untyped-def]
                    return spark.range(offset, offset + rows).select(
                        F.col("id"), (F.col("id") % 997).alias("qty"),
                        F.concat(F.lit("sku-"), (F.col("id") % 101).cast("string")).alias("sku"),
                        (F.col("id") * 0.5).alias("amount"),
                        F.expr("date_add(DATE '2024-01-01', CAST(id % 10 AS INT))").alias("day"))

                path = str(work / f"spark{rows}")
                request = IngestRequest(f"bench.lw{rows}", format="delta", lake=str(work / "lake"), govern=False,
                                        partition_by="day")
                arms = {
                    "delta_spark": lambda f: f.write.format("delta").mode("append").partitionBy("day").save(path),
                    "lakeward": lambda f: ingest_frame(spark, aws, request, f, settings=settings),
                }
                timings: dict[str, list[float]] = {name: [] for name in arms}
                steps = {}
                for r in range(args.repeat + 1):
                    for name, append in (list(arms.items()) if r % 2 else list(arms.items())[::-1]):
                        started = time.perf_counter()
                        result = append(frame(r * rows))
                        if r:
                            timings[name].append(time.perf_counter() - started)
                        if name == "lakeward":
                            steps = result.timings
                medians = {name: statistics.median(t) for name, t in timings.items()}
                print(json.dumps({"rows": rows, **{f"{n}_s": round(m, 2) for n, m in medians.items()},
                                  "lakeward_over_delta_spark": round(medians["lakeward"] / medians["delta_spark"], 2),
                                  "lakeward_steps_s": {k: round(v, 2) for k, v in steps.items()}}), flush=True)


if __name__ == "__main__":
    main()
