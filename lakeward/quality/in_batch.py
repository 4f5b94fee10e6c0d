"""A table's DQDL rules inside a batch: between shaping the rows and writing them.

One aggregation evaluates every rule over the batch's good rows (those no other check quarantines). Rows failing a row-level rule whose
action is ``quarantine`` get the reason ``data quality: <rule>`` (they are then quarantined whole with
their record, and counted); a failed rule whose action is ``fail`` stops the batch before anything is
written; every outcome goes to the run report.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeward.engines.bookkeeping import RAW_COL, REASON_COL
from lakeward.engines.spark_columns import quoted
from lakeward.errors import LakewardError
from lakeward.quality.evaluate import evaluate
from lakeward.quality.history import history_from_results
from lakeward.quality.policy import QualityRules
from lakeward.quality.references import reference_frames


class QualityFailure(LakewardError):
    """A rule whose action is fail failed: the batch was not committed. Carries the batch's outcomes, so
    they are recorded in the quality history all the same."""

    def __init__(self, message: str, batch_id: str | None = None, outcomes: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.batch_id, self.outcomes = batch_id, outcomes or []


def check_batch(spark: SparkSession, rows: DataFrame, rules: QualityRules, columns: list[str],
                table: str, aws: Any = None, batch_id: str | None = None) -> tuple[DataFrame, list[dict[str, Any]]]:
    """The rows with quality reasons added, and every rule's outcome (with its action) for the report.
    Dynamic thresholds read the table's quality history through ``aws``."""
    history = history_from_results(aws, table) if aws is not None and rules.dynamic else None
    references = reference_frames(spark, aws, rules, table.split(".", 1)[0]) if aws is not None else {}
    good = rows.where(F.col(REASON_COL).isNull())
    evaluation, framed = evaluate(spark, good, rules.ruleset, references, columns, history)
    outcomes = [{**asdict(result), "action": rules.action(node), "source": node.source}
                for node, result in zip(rules.ruleset.rules, evaluation.results)]
    failed = [o for o in outcomes if o["outcome"] != "Passed" and o["action"] == "fail"]
    if failed:
        raise QualityFailure(f"table {table}: the batch was not committed: rule {failed[0]['rule']} "
                             f"{failed[0]['outcome'].lower()} ({failed[0]['reason']})"
                             + (f", and {len(failed) - 1} more" if len(failed) > 1 else ""), batch_id, outcomes)
    actions = {node.text: rules.action(node) for node in rules.ruleset.rules}
    quarantining = [(text, flag) for text, flag in evaluation.flags if actions.get(text) == "quarantine"]
    if not quarantining:
        return rows, outcomes
    failing = F.filter(F.array(*[F.when(~F.coalesce(flag, F.lit(False)), F.lit(text)) for text, flag in quarantining]),
                       lambda x: x.isNotNull())
    reason = F.when(F.size(failing) > 0, F.concat(F.lit("data quality: "), F.array_join(failing, "; ")))
    raw = F.to_json(F.struct(*[quoted(c) for c in columns]))
    checked = framed.withColumns({REASON_COL: reason, RAW_COL: F.when(reason.isNotNull(), raw)})
    return checked.select(*rows.columns).unionByName(rows.where(F.col(REASON_COL).isNotNull())), outcomes


def check_empty(spark: SparkSession, rules: QualityRules, columns: list[str], table: str, aws: Any = None,
                batch_id: str | None = None) -> list[dict[str, Any]]:
    """The rules over a batch with no rows (``RowCount > 0`` fails it, as it should); the outcomes."""
    schema = ", ".join(f"`{c}` string" for c in (*columns, REASON_COL, RAW_COL))
    return check_batch(spark, spark.createDataFrame([], schema), rules, columns, table, aws, batch_id)[1]
