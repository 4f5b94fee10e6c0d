"""What inference costs: lakeward's schema inference against Spark's own inference pass, on a mixed input.

The input mixes JSON lines (nested), semicolon CSV and Parquet files, with a column that is an integer
in some files and a string in others, ISO timestamps and money strings that content typing turns into
timestamp and decimal columns, and epoch milliseconds in a time-named column.
Measured in one process, best of N after a warm-up:
- spark inference: the schema of each format group as Spark infers it (json, csv with inferSchema,
  parquet footers): the least any job pays to learn the schema;
- lakeward inference: ``preview_ingest`` (the dry run of ``lakeward schema diff``): list, sniff, Spark
  inference per read group, name mapping, content typing, unification and the evolution plan; no writes;
- the ingest itself, whose report splits the time into inferring (read_and_infer_s + plan_s) and the rest.
Usage: python bench/inference_cost.py [--mb 1024] [--repeat 2]
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from harness import bench_workspace


def _record(n: int, rng: random.Random) -> dict:
    return {"orderId": f"o-{n}", "code": n % 1000 if n % 3 else f"C{n % 1000}",
            "Price": f"{rng.randint(1, 99999) / 100:.2f}", "ordered_at": f"2024-03-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
            "shipped_at": 1709287200000 + n * 1000, "country": ["DE", "FR", "ES", "IT"][n % 4]}


def generate(folder: Path, megabytes: int, files_per_format: int = 6) -> int:
    """A third of the bytes each as JSON lines, CSV and Parquet; returns the row count."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    target = megabytes * 1024 * 1024 // (3 * files_per_format)
    rows = 0
    for i in range(files_per_format):
        size = 0
        with open(folder / f"orders-{i:02d}.jsonl", "w") as f:
            while size < target:
                record = {**_record(rows, rng), "customer": {"Full Name": f"C {rows % 5000}", "id": rows % 5000}}
                if i % 2:
                    record["code"] = str(record["code"])  # some files carry the code as a string
                line = json.dumps(record) + "\n"
                f.write(line)
                size += len(line)
                rows += 1
        size = 0
        with open(folder / f"orders-{i:02d}.csv", "w") as f:
            f.write("orderId;code;Price;ordered_at;shipped_at;country\n")
            while size < target:
                line = ";".join(str(v) for v in _record(rows, rng).values()) + "\n"
                f.write(line)
                size += len(line)
                rows += 1
        batch, size = [], 0
        while size < target * 0.45:  # Parquet compresses: fewer bytes per row on disk than in memory
            record = _record(rows, rng)
            record["code"] = rows % 1000
            batch.append(record)
            size += 60
            rows += 1
        pq.write_table(pa.Table.from_pylist(batch), folder / f"orders-{i:02d}.parquet")
    return rows


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from lakeward.runtime.aws import aws_context
    from lakeward.ingest.files import preview_ingest, run_ingest
    from lakeward.ingest.request import IngestRequest
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import spark_session

    with bench_workspace() as work:
        raw = work / "raw"
        rows = generate(raw, args.mb)
        size = sum(f.stat().st_size for f in raw.iterdir())
        settings = Settings.load()
        spark = spark_session(settings)

        def spark_inference() -> None:
            spark.read.json(str(raw / "*.jsonl")).schema
            spark.read.options(header="true", sep=";", inferSchema="true").csv(str(raw / "*.csv")).schema
            spark.read.parquet(str(raw / "*.parquet")).schema

        request = IngestRequest("bench.inferred", str(raw), "parquet", "country", str(work / "lake"))
        plan = None

        def lakeward_inference() -> None:
            nonlocal plan
            with aws_context(settings) as aws:
                plan = preview_ingest(spark, aws, request, settings).plan

        spark_inference()  # warm-up, both
        lakeward_inference()
        spark_s = best(spark_inference, args.repeat)
        ours_s = best(lakeward_inference, args.repeat)
        with aws_context(settings) as aws:
            report = run_ingest(spark, aws, request, settings)
        assert report.rows_read == rows, (report.rows_read, rows)
        t = report.timings
        infer = t.get("select_files_s", 0) + t.get("read_and_infer_s", 0) + t.get("plan_s", 0)
        print(f"input: {size / 2**20:.0f} MB mixed (JSON lines, CSV, Parquet; 18 files), {rows:,} rows; "
              f"Spark master {spark.sparkContext.master}; best of {args.repeat}")
        print(f"spark inference     {spark_s:6.1f} s   {rows / spark_s / 1e3:8.1f} k rows/s")
        print(f"lakeward inference  {ours_s:6.1f} s   {rows / ours_s / 1e3:8.1f} k rows/s   ratio {ours_s / spark_s:4.2f}")
        print(f"ingest {report.duration_s:.1f} s: inferring {infer:.1f} s ({infer / report.duration_s:.0%}), "
              f"the rest {report.duration_s - infer:.1f} s; steps: "
              + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
        from catalog.types import to_hive

        print("types: " + ", ".join(f"{c.name} {to_hive(c.type)}" for c in plan.columns) if plan else "")
        print("files disagree: " + json.dumps([{c["column"]: {k: len(v) for k, v in c["files"].items()}}
                                                for c in report.file_type_conflicts]))


if __name__ == "__main__":
    main()
