"""What a table's rules do when they fail. No engine here.

Every top-level rule has an action, from its DQDL label ``action`` (``labels=["action"="fail"]``, so the
rule set stays valid DQDL and moves to Glue unchanged) or the table's default:

- ``quarantine``: a row-level rule's failing rows go to quarantine with the rule they failed; the rest
  are written. (A rule that is not row-level cannot quarantine rows: it is refused.)
- ``fail``: when the rule fails, the batch is not committed; nothing changes in the table or catalog.
- ``warn`` (default): reported and recorded.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

from lakeward.quality.dqdl import Composite, Node, Ruleset, parse_ruleset, DQDLError

Action = Literal["quarantine", "fail", "warn"]
ACTIONS: tuple[str, ...] = get_args(Action)
ROW_LEVEL = {"IsComplete", "Completeness", "IsUnique", "IsPrimaryKey", "ColumnValues", "ColumnLength",
             "ColumnDataType", "DataFreshness", "CustomSql", "ReferentialIntegrity"}


def row_level(node: Node) -> bool:
    if isinstance(node, Composite):
        return row_level(node.left) and row_level(node.right)
    return node.type in ROW_LEVEL and not (node.type == "CustomSql" and node.condition is not None)


@dataclass(frozen=True)
class QualityRules:
    ruleset: Ruleset
    text: str
    default_action: Action = "warn"

    references: tuple[tuple[str, str], ...] = ()  # ReferentialIntegrity alias -> DB.TABLE (else <database>.<alias>)
    cloudwatch: bool = False  # publish each evaluation's rule counts (lakeward.quality.cloudwatch)
    evaluation_context: str | None = None  # their EvaluationContext dimension (default: the table, DB.TABLE)

    @property
    def dynamic(self) -> bool:
        """Whether a rule is judged against its history (a dynamic threshold, DetectAnomalies)."""
        return any(leaf.type == "DetectAnomalies" or any(o.__class__.__name__ == "Dynamic" for o in
                                                         (leaf.condition.operands if leaf.condition else ()))
                   for leaf in self.ruleset.leaves())

    def dataset_level(self) -> "QualityRules | None":
        """Only the rules about the dataset as a whole (RowCount, ColumnCount), or None when there are none."""
        def whole(node: Node) -> bool:
            if isinstance(node, Composite):
                return whole(node.left) and whole(node.right)
            return node.type in ("RowCount", "ColumnCount") or node.type == "DetectAnomalies" and node.params[0] in (
                "RowCount", "ColumnCount")
        kept = [node for node in self.ruleset.rules if whole(node)]
        return replace(self, ruleset=replace(self.ruleset, rules=kept)) if kept else None

    def reference_tables(self, database: str) -> dict[str, str]:
        """The catalog table behind each ReferentialIntegrity alias: as mapped, else the alias's table in
        ``database``."""
        mapped = dict(self.references)
        aliases = {leaf.params[1].partition(".")[0] for leaf in self.ruleset.leaves() if leaf.type == "ReferentialIntegrity"}
        return {alias: mapped.get(alias) or f"{database}.{alias}" for alias in sorted(aliases)}

    def action(self, node: Node) -> Action:
        return node.labels.get("action", self.default_action)  # type: ignore[return-value]

    @classmethod
    def parse(cls, text: str, default_action: str = "warn", where: str = "quality",
              references: dict[str, str] | None = None, cloudwatch: bool = False,
              evaluation_context: str | None = None) -> "QualityRules":
        try:
            ruleset = parse_ruleset(text)
        except DQDLError as e:
            raise DQDLError(f"{where}: {e}") from None
        if default_action not in ACTIONS:
            raise DQDLError(f"{where}: default action {default_action!r}: expected one of {', '.join(ACTIONS)}")
        rules = cls(ruleset, text, default_action, tuple(sorted((references or {}).items())),  # type: ignore[arg-type]
                    cloudwatch, evaluation_context)
        if evaluation_context is not None and not (cloudwatch and evaluation_context.strip()):
            raise DQDLError(f"{where}: evaluation_context {evaluation_context!r} names the CloudWatch dimension of "
                            "published metrics: give a non-empty one, with cloudwatch: true")
        for alias, table in rules.references:
            if table.count(".") != 1 or not alias:
                raise DQDLError(f"{where}: references {alias}: {table!r} is not DB.TABLE (give ALIAS=DB.TABLE)")
        for node in ruleset.rules:
            action = rules.action(node)
            if action not in ACTIONS:
                raise DQDLError(f"{where}: {node.text}: action {action!r}: expected one of {', '.join(ACTIONS)}")
            if action == "quarantine" and not row_level(node):
                raise DQDLError(f"{where}: {node.text}: {node.text.split(' ')[0]} is about the whole batch, not each "
                                "row, so it cannot quarantine rows; use fail or warn")
        return rules
