"""Local Athena latency for a 10-partition table against the files each query reads (partition pruning
proved by the files opened), as users run it: ``lakeward query`` in a fresh process. The baseline is DuckDB
reading the same files directly (hive partitioning, no catalog) in a fresh process, what a user might
run instead. Each partition holds one file per ingested batch (four batches).

    cd bench && ../.venv/bin/python query_pruning.py --rows 2000000
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import bench_workspace

BATCHES = 4  # ingested one after the other: each partition holds one file per batch
DAYS = [f"2024-03-{d:02d}" for d in range(1, 11)]
QUERIES = [
    ("fixed cost", "SELECT 1"),
    ("whole table", "SELECT count(*), sum(amount) FROM bench.{table}"),
    ("one partition", "SELECT count(*), sum(amount) FROM bench.{table} WHERE day = date '2024-03-04'"),
    ("three partitions", "SELECT region, count(*) FROM bench.{table} WHERE day BETWEEN date '2024-03-02' "
                         "AND date '2024-03-04' GROUP BY 1"),
    ("non-partition filter", "SELECT count(*) FROM bench.{table} WHERE amount > 9990"),
]
BASELINE = {
    "whole table": "SELECT count(*), sum(amount) FROM t",
    "one partition": "SELECT count(*), sum(amount) FROM t WHERE day = DATE '2024-03-04'",
    "three partitions": "SELECT region, count(*) FROM t WHERE day BETWEEN DATE '2024-03-02' AND DATE '2024-03-04' "
                        "GROUP BY 1",
    "non-partition filter": "SELECT count(*) FROM t WHERE amount > 9990",
}


def generate(folder: Path, rows: int, files: int = 8) -> None:
    folder.mkdir(parents=True)
    rng = random.Random(3)
    for f in range(files):
        (folder / f"batch-{f % BATCHES}").mkdir(exist_ok=True)
        with open(folder / f"batch-{f % BATCHES}" / f"part-{f}.csv", "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["id", "day", "amount", "region"])
            for i in range(f, rows, files):
                writer.writerow([i, DAYS[i % 10], rng.randint(1, 1_000_000) / 100, ("north", "south", "west")[i % 3]])


def lakeward(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lakeward.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "LAKEWARD_QUERY_ENGINE": "local"})


def timed(run, repeat: int) -> tuple[float, str]:
    times, last = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        last = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with bench_workspace() as work:
        generate(work / "raw", args.rows)
        lake = work / "lake"
        for table, fmt in (("orders", "parquet"), ("orders_delta", "delta")):
            for batch in range(BATCHES):
                done = lakeward("ingest", str(work / "raw" / f"batch-{batch}"), "--table", f"bench.{table}",
                                "--lake", str(lake), "--partition-by", "day", "--format", fmt, "--no-govern")
                assert done.returncode == 0, done.stderr[-2000:]
        files = sorted(str(p) for p in (lake / "bench/orders").rglob("*.parquet"))
        print(f"{args.rows:,} rows, {len(files)} Parquet files in 10 partitions "
              f"({sum(os.path.getsize(f) for f in files) / 2**20:.0f} MB)\n")
        print("| Query | Table | lakeward query (fresh process) | partitions, files read | "
              "DuckDB on the files (fresh process) |")
        print("|---|---|---|---|---|")
        view = (f"CREATE VIEW t AS SELECT * FROM read_parquet('{lake}/bench/orders/**/*.parquet', "
                "hive_partitioning = true)")
        for name, sql in QUERIES:
            for table in ("orders", "orders_delta") if name != "fixed cost" else ("-",):
                def run() -> str:
                    result = lakeward("query", sql.format(table=table), "--output", "json")
                    assert result.returncode == 0, result.stderr
                    return result.stderr
                seconds, stderr = timed(run, args.repeat)
                scanned = re.search(r"(\d+) of (\d+) partitions, (\d+) files", stderr)
                read = f"{scanned[1]} of {scanned[2]}, {scanned[3]} files" if scanned else "-"
                baseline = ""
                if name in BASELINE and table == "orders":
                    script = f"import duckdb; c = duckdb.connect(); c.execute({view!r}); " \
                             f"print(c.execute({BASELINE[name]!r}).fetchall())"
                    base, _ = timed(lambda: subprocess.run([sys.executable, "-c", script], check=True,
                                                           capture_output=True).stdout, args.repeat)
                    baseline = f"{base:.2f} s"
                print(f"| {name} | {table} | {seconds:.2f} s | {read} | {baseline} |")


if __name__ == "__main__":
    main()
