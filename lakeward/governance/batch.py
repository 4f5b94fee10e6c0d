"""Governance inside a batch: the new and changed columns classified from a sample of the batch's good
rows before the write (so their PII can be protected in the files), and the protection each PII column
gets per the governance spec."""
from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalog.evolution import RESCUED_COLUMN
from catalog.schema import TableDefinition
from lakeformation.classifier import CLASSIFIED_PARAMETER
from lakeformation.spec import DEFAULT, GovernanceSpec
from lakeward.engines.bookkeeping import REASON_COL
from lakeward.governance.policy import record_classification
from lakeward.governance.protection import hmac_key, hmac_sha256, masked, protections
from lakeward.governance.sampling import classify_frame
from lakeward.ingest.planning import Target
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings

Protect = Callable[[SparkColumn], SparkColumn]


def to_classify(target: Target, new_table: bool) -> list[str]:
    """The columns a batch classifies: every column of a new table, else the added and changed ones and
    those never classified (no values seen yet)."""
    changed = {c.column for c in target.plan.changes if c.kind in ("add_column", "add_nested_fields")}
    return [c.name for c in (*target.definition.columns, *target.definition.partition_keys)
            if (new_table or c.name in changed or CLASSIFIED_PARAMETER not in c.parameters) and c.name != RESCUED_COLUMN]


def classify_batch(rows: DataFrame, target: Target, columns: list[str], governance: GovernanceSpec | None,
                   settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """Classify ``columns`` from a sample of the batch's good rows and record what is PII in their Glue
    Parameters (in ``target``) before the commit: path -> entity, and the doubtful columns -> why."""
    good = rows.where(F.col(REASON_COL).isNull())
    sampled = classify_frame(good, columns, settings.pii_sample_rows, settings.pii_distinct_values)
    target.definition = record_classification(target.definition, sampled, governance or DEFAULT, set(columns))
    target.plan.columns = target.definition.columns
    return ({d.column: d.entity for d in sampled.found},
            {d.column: f"{d.entity}: {d.evidence}" for d in sampled.doubts})


def protected_columns(definition: TableDefinition, governance: GovernanceSpec | None) -> frozenset[str]:
    """The columns the policy hashes or masks (no key is fetched)."""
    return frozenset(protections(definition, governance or DEFAULT))


def protection(aws: AwsContext, governance: GovernanceSpec | None,
               definition: TableDefinition) -> tuple[dict[str, str], dict[str, Protect]]:
    """What the policy does to each PII column (for the report), and column -> the expression that hashes
    or masks it."""
    spec = governance or DEFAULT
    actions = protections(definition, spec)
    if not actions:
        return {}, {}
    key = hmac_key(spec.hmac_key, aws) if "hash" in actions.values() else b""  # type: ignore[arg-type]
    chosen: dict[str, Protect] = {}
    for column, action in actions.items():
        if action == "hash":
            chosen[column] = lambda v: hmac_sha256(v, key)
        elif action == "mask":
            chosen[column] = masked
    return actions, chosen
