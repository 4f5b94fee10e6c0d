"""Where dynamic thresholds (``avg(last(10))``) find a rule's past metrics: the database's quality_results
table, queried like any table (Glue + the files, DuckDB)."""
from __future__ import annotations

from typing import Any

from lakeward.ingest.request import parse_table_name
from lakeward.runtime.aws import AwsContext

RESULTS_TABLE = "quality_results"


def history_from_results(aws: AwsContext, table: str) -> Any:
    """The History the evaluator asks for dynamic thresholds: a rule's metric in its latest evaluations
    of this table, newest first, read from the database's quality_results table (none before it exists)."""
    from lakeward.errors import LakewardError
    from lakeward.query import run_query

    database, name = parse_table_name(table)

    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def lookup(rule: str, metric: str, k: int) -> list[float]:
        # the rule alone, or inside a composite (recorded under the composite's text); committed batches only:
        # not the whole-table metrics of quality check runs, not a batch a fail rule stopped (its rerun would
        # otherwise find its own failed value in the history and pass)
        inside = quoted("%(" + rule + ")%")  # LIKE's _ and % in the text only widen the match a little
        sql = (f"SELECT value FROM {database}.{RESULTS_TABLE} WHERE table_name = {quoted(name)} "
               f"AND (rule = {quoted(rule)} OR rule LIKE {inside}) AND metric = {quoted(metric)} "
               f"AND value IS NOT NULL AND batch_id NOT LIKE 'check-%' AND batch_id NOT IN (SELECT batch_id FROM "
               f"{database}.{RESULTS_TABLE} WHERE table_name = {quoted(name)} AND action = 'fail' AND outcome <> "
               f"'Passed') ORDER BY evaluated_at DESC LIMIT {int(k)}")  # batches a fail rule stopped are not history
        try:
            return [float(r[0]) for r in run_query(aws, sql).rows]
        except LakewardError:  # no history table yet
            return []
    return lookup
