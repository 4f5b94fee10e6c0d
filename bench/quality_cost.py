"""What ten DQDL rules cost inside the ingest of 1 GB, and what evaluating them costs against the next
best library on the same rows.

1. The ingest, as users run it (the CLI in a fresh process), of the same JSON lines (``ingest_vs_spark``'s
   orders) without rules, with ten rules (two quarantining rows, eight warning), and with the nine that
   do not need every key counted (all but IsUnique): the ratios.
2. Evaluation alone over the ingested table's rows (Parquet read once and cached): lakeward's compiler
   (one aggregation plus the row flags) against cuallee (the runner-up in the engines we measured;
   Deequ's DQDL engine is not served for Spark 3.5 here, ADR 0013), the same ten checks, best of N, with
   the Spark jobs each ran (the job ids Spark hands out under a job group).
3. With ``--breakdown`` instead: the ingest with one part of the rule set at a time (``RowCount > 0``
   alone, the two quarantining rules, the seven warning ones), to tell what is fixed per batch from what
   the rules add.

    cd bench && ../.venv/bin/python quality_cost.py --mb 1024 --repeat 2 [--breakdown]
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


BREAKDOWN = {
    "row_count": 'Rules = [ RowCount > 0 ]',
    "quarantine_two": 'Rules = [ IsComplete "order_id" labels=["action"="quarantine"], '
                      'ColumnValues "currency" in ["EUR", "USD"] labels=["action"="quarantine"] ]',
    "warn_seven": 'Rules = [ RowCount > 0, ColumnValues "amount" between 0 and 100000, ColumnLength "order_id" <= 32, '
                  'Completeness "region" > 0.95, ColumnValues "region" matches "[a-z]+", Mean "amount" > 0, '
                  'DataFreshness "order_ts" <= 5000 days ]',
}


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
    parser.add_argument("--mb", type=float, default=1024, help="raw JSON lines to generate (0.25: about 1,100 rows)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--breakdown", action="store_true")
    args = parser.parse_args()
    with bench_workspace() as work:
        raw = work / "raw"
        count = generate(raw, args.mb)
        if args.breakdown:
            breakdown(work, raw, args.repeat)
            return
        rules = work / "rules.dqdl"
        rules.write_text(RULES)
        no_unique = work / "nine.dqdl"  # the same rules but the one that needs every key counted
        no_unique.write_text(RULES.replace('    IsUnique "order_id",\n', ""))
        times: dict[str, list[float]] = {"none": [], "ten": [], "nine": []}
        for run in range(args.repeat):
            for variant, path in (("none", None), ("ten", rules), ("nine", no_unique)):
                seconds, report = ingest(raw, work / "lake", f"bench.{variant}_{run}", path)
                times[variant].append(seconds)
                assert report["rows_written"] + report["rows_quarantined"] == count
                steps = {k: round(v, 2) for k, v in report["timings"].items()}
                print(json.dumps({"variant": variant, "run": run, "s": round(seconds, 1), "steps": steps}), flush=True)
                if variant == "ten":
                    outcomes = {q["rule"].split(" labels")[0]: q["outcome"] for q in report["quality"]}
        best = {k: min(v) for k, v in times.items()}
        print(json.dumps({"mb": args.mb, "rows": count, "ingest_s": round(best["none"], 1),
                          "with_ten_rules_s": round(best["ten"], 1), "overhead_ten": round(best["ten"] / best["none"] - 1, 3),
                          "with_nine_rules_s": round(best["nine"], 1),
                          "overhead_nine_without_is_unique": round(best["nine"] / best["none"] - 1, 3),
                          "outcomes": outcomes}), flush=True)
        table = next((work / "lake/bench").glob("ten_0"))
        print(json.dumps({"evaluation_only": evaluation(table, args.repeat)}), flush=True)


def breakdown(work: Path, raw: Path, repeat: int) -> None:
    variants: dict[str, Path | None] = {"none": None}
    for name, text in BREAKDOWN.items():
        variants[name] = work / f"{name}.dqdl"
        variants[name].write_text(text)  # type: ignore[union-attr]
    for run in range(repeat):
        for name, path in variants.items():
            seconds, report = ingest(raw, work / "lake", f"bench.{name}_{run}", path)
            print(json.dumps({"variant": name, "run": run, "s": round(seconds, 1),
                              "write_s": round(report["timings"]["write_s"], 1)}), flush=True)


if __name__ == "__main__":
    main()
