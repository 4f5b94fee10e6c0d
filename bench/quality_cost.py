"""What ten DQDL rules cost inside the ingest of 1 GB, and what evaluating them costs against the next
best library on the same rows.

1. The ingest, as users run it (the CLI in a fresh process), of the same JSON lines (``ingest_vs_spark``'s
   orders) without rules and with ten rules (two quarantining rows, eight warning): the ratio, and the
   Spark jobs the rules add (the report's ``quality_s`` step; jobs counted by a listener-free count of
   the job ids Spark hands out).
2. Evaluation alone over the ingested table's rows (Parquet read once and cached): lakeward's compiler
   (one aggregation plus the row flags) against cuallee (the runner-up in the engines we measured;
   Deequ's DQDL engine is not served for Spark 3.5 here, ADR 0013), the same ten checks, best of N.

    cd bench && ../.venv/bin/python quality_cost.py --mb 1024 --repeat 2
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from harness import bench_workspace
from ingest_vs_spark import generate

RULES = '''Rules = [
    RowCount > 0,
    IsComplete "order_id" labels=["action"="quarantine"],
    IsUnique "order_id",
    ColumnValues "currency" in ["EUR", "USD"] labels=["action"="quarantine"],
    ColumnValues "amount" between 0 and 100000,
    ColumnLength "order_id" <= 32,
    Completeness "region" > 0.95,
    ColumnValues "region" matches "[a-z]+",
    Mean "amount" > 0,
    DataFreshness "order_ts" <= 5000 days
]'''


def ingest(raw: Path, lake: Path, table: str, rules: Path | None) -> tuple[float, dict]:
    report = lake.parent / f"report-{table}.json"
    extra = ["--dq-rules", str(rules)] if rules else []
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lakeward.cli", "ingest", str(raw), "--table", table, "--lake", str(lake),
                    "--partition-by", "region", "--no-govern", "--report", str(report), *extra],
                   check=True, capture_output=True)
    return time.perf_counter() - started, json.loads(report.read_text())


def jobs(spark, fn) -> tuple[float, int]:
    """Seconds and Spark jobs of ``fn()``."""
    tracker = spark.sparkContext.statusTracker()
    group = f"bench-{time.monotonic_ns()}"
    spark.sparkContext.setJobGroup(group, group)
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    count = len(tracker.getJobIdsForGroup(group))
    spark.sparkContext.setJobGroup("", "")
    return seconds, count


def evaluation(table_path: Path, repeat: int) -> dict:
    from cuallee import Check, CheckLevel
    from pyspark.sql import functions as F

    from lakeward.quality.dqdl import parse_ruleset
    from lakeward.quality.evaluate import evaluate
    from lakeward.runtime.spark import spark_session

    spark = spark_session()
    rows = spark.read.parquet(str(table_path)).cache()
    total = rows.count()
    ruleset = parse_ruleset(RULES)

    def ours() -> None:
        result, framed = evaluate(spark, rows, ruleset)
        flagged = framed.select(F.sum(F.when(~F.coalesce(F.array_contains(result.failed_rules(), F.lit("x")),
                                                         F.lit(False)), 1))).collect()  # the row flags, once
        assert len(result.results) == 10 and flagged

    def theirs() -> None:  # the same ten checks, as cuallee spells them
        check = (Check(CheckLevel.WARNING, "orders").is_legit("order_id").is_complete("order_id")
                 .is_unique("order_id").is_contained_in("currency", ("EUR", "USD"))
                 .is_between("amount", (0, 100000)).satisfies("order_id", "length(order_id) <= 32")
                 .is_complete("region", pct=0.95).has_pattern("region", "[a-z]+").has_mean("amount", 0)
                 .satisfies("order_ts", "order_ts >= timestamp'2012-01-01 00:00:00'"))
        assert len(check.validate(rows).collect()) == 10

    results = {}
    for name, fn in (("lakeward", ours), ("cuallee", theirs)):
        fn()  # warm-up
        runs = [jobs(spark, fn) for _ in range(repeat)]
        results[name] = {"best_s": round(min(s for s, _ in runs), 2), "spark_jobs": runs[0][1]}
    rows.unpersist()
    return {"rows": total, **results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with bench_workspace() as work:
        raw = work / "raw"
        count = generate(raw, args.mb)
        rules = work / "rules.dqdl"
        rules.write_text(RULES)
        plain, ruled = [], []
        for run in range(args.repeat):
            seconds, report = ingest(raw, work / "lake", f"bench.plain_{run}", None)
            plain.append(seconds)
            assert report["rows_written"] == count
            seconds, checked = ingest(raw, work / "lake", f"bench.ruled_{run}", rules)
            ruled.append(seconds)
            assert checked["rows_written"] + checked["rows_quarantined"] == count
        outcomes = {q["rule"].split(" labels")[0]: q["outcome"] for q in checked["quality"]}
        print(json.dumps({"mb": args.mb, "rows": count, "ingest_s": round(min(plain), 1),
                          "ingest_with_rules_s": round(min(ruled), 1),
                          "overhead": round(min(ruled) / min(plain) - 1, 3),
                          "quality_step_s": checked["timings"].get("quality_s"),
                          "steps_with_rules": checked["timings"], "steps_without": report["timings"],
                          "outcomes": outcomes}), flush=True)
        table = next((work / "lake/bench").glob("ruled_0"))
        print(json.dumps({"evaluation_only": evaluation(table, args.repeat)}), flush=True)


if __name__ == "__main__":
    main()
