"""What PII classification costs: a 1,000,000-row, 30-column table, ingested with and without governance,
and classified on demand, in one process.

The table has 8 PII columns (email, phone, SSN, card, IBAN, IP, name, birth date) and 22 others (ids,
amounts, codes, dates, flags). Measured: ingest --no-govern (the baseline), ingest with classification and
Lake Formation tagging (the default), and ``lakeward classify`` over the written table; plus which columns
were found. Usage: python bench/classify_cost.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from harness import bench_workspace

PII = {"email", "phone", "ssn", "card_number", "iban", "client_ip", "full_name", "date_of_birth"}


def _luhn_complete(prefix: str) -> str:
    from stdnum import luhn

    return prefix + luhn.calc_check_digit(prefix)


def generate(folder: Path, rows: int, files: int = 8) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(17)
    first = ["Ana", "Bo", "Chen", "Dara", "Emil", "Fatima", "Gus", "Hana"]
    last = ["Müller", "Li", "O'Brien", "Okafor", "Silva", "Novak", "Kim", "de Vries"]
    per_file = rows // files
    for f in range(files):
        n0 = f * per_file
        cols: dict[str, list] = {
            "email": [f"user{n0 + i}@example.com" for i in range(per_file)],
            "phone": [f"+1 (415) 555-{rng.randint(0, 9999):04d}" for _ in range(per_file)],
            "ssn": [f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}" for _ in range(per_file)],
            "card_number": [_luhn_complete(f"4{rng.randint(10**13, 10**14 - 1)}") for _ in range(per_file)],
            "iban": [rng.choice(["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"])
                     for _ in range(per_file)],
            "client_ip": [f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                          for _ in range(per_file)],
            "full_name": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(per_file)],
            "date_of_birth": [f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                              for _ in range(per_file)],
        }
        for j in range(22):
            kind = j % 6
            if kind == 0:
                cols[f"id_{j}"] = [n0 + i for i in range(per_file)]
            elif kind == 1:
                cols[f"amount_{j}"] = [round(rng.uniform(1, 999), 2) for _ in range(per_file)]
            elif kind == 2:
                cols[f"code_{j}"] = [f"SKU-{rng.randint(1000, 9999)}" for _ in range(per_file)]
            elif kind == 3:
                cols[f"event_date_{j}"] = [f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for _ in range(per_file)]
            elif kind == 4:
                cols[f"flag_{j}"] = [rng.random() < 0.5 for _ in range(per_file)]
            else:
                cols[f"status_{j}"] = [rng.choice(["NEW", "PAID", "SHIPPED"]) for _ in range(per_file)]
        pq.write_table(pa.table(cols), folder / f"part-{f}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from lakeward.runtime.aws import aws_context
    from lakeward.governance.classify import run_classify
    from lakeward.ingest.files import run_ingest
    from lakeward.ingest.request import IngestRequest
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import spark_session

    with bench_workspace() as work:
        raw = work / "raw"
        generate(raw, args.rows)
        settings = Settings.load()
        spark = spark_session(settings)
        times = {}
        with aws_context(settings) as aws:
            run_ingest(spark, aws, IngestRequest("bench.warmup", str(raw), lake=str(work / "lake"), govern=False), settings)
            for name, govern in (("ingest --no-govern", False), ("ingest (classify + tag)", True)):
                started = time.perf_counter()
                report = run_ingest(spark, aws, IngestRequest(f"bench.t_{govern}", str(raw), lake=str(work / "lake"),
                                                              govern=govern), settings)
                times[name] = time.perf_counter() - started
                if govern:
                    found, classify_s = report.pii, report.timings.get("classify_s", 0.0)
            started = time.perf_counter()
            result = run_classify(spark, aws, "bench.t_False", settings)
            times["lakeward classify (whole table)"] = time.perf_counter() - started
        base = times["ingest --no-govern"]
        print(f"input: {args.rows:,} rows x 30 columns (8 PII), Parquet, 8 files; Spark master {spark.sparkContext.master}")
        for name, seconds in times.items():
            print(f"{name:34s} {seconds:6.1f} s   ratio to ingest {seconds / base:4.2f}")
        print(f"classification step inside the ingest: {classify_s:.1f} s; found {len(found)}: "
              f"{', '.join(f'{k}={v}' for k, v in sorted(found.items()))}")
        print(f"missed: {sorted(PII - set(found))}; extra: {sorted(set(found) - PII)}; "
              f"classify found {len(result.detections)}")


if __name__ == "__main__":
    main()
