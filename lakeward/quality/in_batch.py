"""A table's DQDL rules inside a batch: between shaping the rows and writing them.

The rules' aggregates are computed over the batch's good rows (those no other check quarantines) in the
write itself: they are observed (Spark's ``observe``) on the frame the writer runs, so a batch's rules cost
no pass of their own. Rules about how often values occur (IsUnique, Uniqueness, IsPrimaryKey,
UniqueValueRatio, DistinctValuesCount) have the writer stage each in-scope row's key beside the files
(``WritePlan.keys``); one aggregation over those keys, a column of Parquet, follows the write. Where a
quarantine rule needs each row's count, a window in the write counts them per row instead. Rows failing a row-level rule whose action is ``quarantine`` get the reason
``data quality: <rule>`` (they are then quarantined whole with their record, and counted). Once the
write has run, a failed rule whose action is ``fail`` stops the batch before its commit (its files were
only staged), and every outcome goes to the run report. Where the write cannot carry the aggregates (a
merge, or a batch whose widening carries rows over from the table's files), they run first, in one job.
"""
from __future__ import annotations

import operator
import uuid
from dataclasses import asdict
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from lakeward.engines.bookkeeping import RAW_COL, REASON_COL
from lakeward.engines.spark_columns import quoted
from lakeward.errors import LakewardError
from lakeward.quality.dqdl import Composite
from lakeward.quality.evaluate import GROUPED, Compiled, Grouped, compile_rules, failed_rules
from lakeward.quality.history import history_from_results
from lakeward.quality.policy import QualityRules
from lakeward.quality.references import reference_frames


IN_SCOPE = "__lw_dq_in"  # the rows the rules see: those no earlier check quarantined


class QualityFailure(LakewardError):
    """A rule whose action is fail failed: the batch was not committed. Carries the batch's outcomes, so
    they are recorded in the quality history all the same."""

    def __init__(self, message: str, batch_id: str | None = None, outcomes: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.batch_id, self.outcomes = batch_id, outcomes or []


class BatchQuality:
    """A batch's rules: its rows with their quality reasons (``rows``) and, once the aggregates are known,
    every rule's outcome with its action."""

    def __init__(self, rules: QualityRules, compiled: Compiled, table: str, batch_id: str | None, deferred: bool):
        self.rules, self.compiled, self.table, self.batch_id = rules, compiled, table, batch_id
        self.deferred = deferred and bool(compiled.aggs)
        self.observation = Observation(f"lakeward-dq-{uuid.uuid4().hex}") if self.deferred else None
        self.values: dict[str, Any] | None = None if self.deferred else (
            compiled.framed.agg(*compiled.aggs).collect()[0].asDict() if compiled.aggs else {})
        self.rows: DataFrame | None = None
        self._outcomes: list[dict[str, Any]] | None = None

    def observe(self, frame: DataFrame) -> DataFrame:
        """``frame`` (the batch's rows as the writer gets them) computing the rules' aggregates as it runs."""
        return frame.observe(self.observation, *self.compiled.aggs) if self.observation is not None else frame

    @property
    def staged_keys(self) -> tuple[str, ...]:
        """The frame's columns of rule keys the writer must stage (``WritePlan.keys``)."""
        return self.compiled.staged_keys if self.deferred else ()

    def count_staged_keys(self, spark: SparkSession, files: dict[str, list[str]], rows: dict[str, int],
                          storage: Any) -> None:
        self.compiled.count_staged_keys(spark, files, rows, storage)

    def outcomes(self) -> list[dict[str, Any]]:
        """Every rule's outcome (after the write and its staged keys are counted, when observed);
        QualityFailure when a fail rule failed."""
        if self._outcomes is None:
            values = _observed(self.observation) if self.observation is not None else self.values
            evaluation = self.compiled.decide(values or {})
            self._outcomes = [{**asdict(result), "action": self.rules.action(node), "source": node.source}
                              for node, result in zip(self.rules.ruleset.rules, evaluation.results)]
        failed = [o for o in self._outcomes if o["outcome"] != "Passed" and o["action"] == "fail"]
        if failed:
            raise QualityFailure(f"table {self.table}: the batch was not committed: rule {failed[0]['rule']} "
                                 f"{failed[0]['outcome'].lower()} ({failed[0]['reason']})"
                                 + (f", and {len(failed) - 1} more" if len(failed) > 1 else ""), self.batch_id,
                                 self._outcomes)
        return self._outcomes


OBSERVED_WAIT_S = 600.0


def _observed(observation: Observation) -> dict[str, Any]:
    """The observed aggregates. Spark delivers them through its listener bus after the write's job; should
    they never come (a dropped event), the batch fails after a wait instead of holding the table forever."""
    import threading

    got: dict[str, Any] = {}
    waiting = threading.Thread(target=lambda: got.update(values=observation.get), daemon=True)
    waiting.start()
    waiting.join(OBSERVED_WAIT_S)
    if "values" not in got:
        raise LakewardError(f"the data quality metrics of the batch did not arrive from Spark within "
                            f"{OBSERVED_WAIT_S:.0f} s after its write; nothing was committed, run it again")
    return got["values"]


def check_batch(spark: SparkSession, rows: DataFrame, rules: QualityRules, columns: list[str], table: str,
                aws: Any = None, batch_id: str | None = None, deferred: bool = False,
                private: frozenset[str] = frozenset()) -> BatchQuality:
    """The batch's rules over ``rows``. Not ``deferred``: the aggregates run now, and a fail rule that
    failed raises QualityFailure before anything is written. ``deferred``: the caller observes them on the
    frame it writes (``BatchQuality.observe``) and asks for the outcomes after. Dynamic thresholds read the
    table's quality history through ``aws``. ``private``: columns the policy hashes or masks, whose values
    are never staged as rule keys."""
    history = history_from_results(aws, table) if aws is not None and rules.dynamic else None
    references = reference_frames(spark, aws, rules, table.split(".", 1)[0]) if aws is not None else {}
    marked = rows.withColumn(IN_SCOPE, F.col(REASON_COL).isNull())  # one frame: no split and union to read twice
    compiled = compile_rules(spark, marked, rules.ruleset, references, columns, history, IN_SCOPE,
                             grouped=_grouped_mode(rules, deferred, private))
    quality = BatchQuality(rules, compiled, table, batch_id, deferred)
    if not quality.deferred:
        quality.outcomes()  # a fail rule stops the batch here
    quality.rows = _with_reasons(rows, compiled, rules, columns, quality.deferred)
    return quality


def _grouped_mode(rules: QualityRules, deferred: bool, private: frozenset[str]) -> Grouped:
    """How value-count rules are counted in a batch: per row in the write when a quarantine rule needs
    each row's count (or the write is not observed); else over the keys the writer stages, unless a key
    holds a column the policy protects (its clear values stay off the lake: one aggregation over the source
    instead)."""
    if not deferred or _quarantines_by_count(rules):
        return ""
    keys = {p for node in rules.ruleset.rules for leaf in (node.leaves() if isinstance(node, Composite) else [node])
            if leaf.type in GROUPED for p in leaf.params}
    return "now" if keys & private else "staged"


def _quarantines_by_count(rules: QualityRules) -> bool:
    """Whether a quarantine rule needs each row's count of its value (IsUnique and its kin)."""
    return any(rules.action(node) == "quarantine" and any(leaf.type in GROUPED for leaf in
                                                          (node.leaves() if isinstance(node, Composite) else [node]))
               for node in rules.ruleset.rules)


def _with_reasons(rows: DataFrame, compiled: Compiled, rules: QualityRules, columns: list[str],
                  deferred: bool) -> DataFrame:
    actions = {node.text: rules.action(node) for node in rules.ruleset.rules}
    quarantining = [(text, flag) for text, flag in compiled.flags() if actions.get(text) == "quarantine"]
    framed = compiled.framed
    if quarantining:  # flags pass the rows another check quarantined: their reason stays
        passes = reduce(operator.and_, [F.coalesce(flag, F.lit(False)) for _, flag in quarantining])
        # the failed rules' texts are assembled only for a row that fails one
        reason = F.when(~passes, F.concat(F.lit("data quality: "), F.array_join(failed_rules(quarantining), "; ")))
        raw = F.to_json(F.struct(*[quoted(c) for c in columns]))
        framed = framed.withColumns({REASON_COL: F.coalesce(F.col(REASON_COL), reason),
                                     RAW_COL: F.when(F.col(REASON_COL).isNull() & reason.isNotNull(), raw)
                                     .otherwise(F.col(RAW_COL))})
    elif not deferred:
        return rows
    return framed if deferred else framed.select(*rows.columns)  # deferred: the aggregates' columns stay


def check_empty(spark: SparkSession, rules: QualityRules, columns: list[str], table: str, aws: Any = None,
                batch_id: str | None = None) -> list[dict[str, Any]]:
    """The rules over a batch with no rows (``RowCount > 0`` fails it, as it should); the outcomes."""
    schema = ", ".join(f"`{c}` string" for c in (*columns, REASON_COL, RAW_COL))
    return check_batch(spark, spark.createDataFrame([], schema), rules, columns, table, aws, batch_id).outcomes()
