"""``lakeward query``: Athena SQL over the catalog's tables, run locally (DuckDB) or by Athena itself."""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from lakeward.errors import QueryError
from lakeward.query.tables import QueryResult, TableScan, prune_partitions, table_partitions
from lakeward.runtime.aws import AwsContext

if TYPE_CHECKING:
    from lakeward.query.athena import AthenaTarget

Engine = Literal["local", "athena"]

__all__ = ["Engine", "QueryResult", "TableScan", "prune_partitions", "run_query", "table_partitions"]


def run_query(aws: AwsContext, sql: str, principal: str | None = None, engine: Engine = "local",
              athena: "AthenaTarget | None" = None) -> QueryResult:
    """Run locally (DuckDB over the catalog's tables) or by Athena (``athena`` says where)."""
    if engine == "athena":
        from lakeward.query.athena import AthenaTarget, run_athena

        if principal:
            raise QueryError("--as previews Lake Formation grants with the local engine; Athena applies the "
                             "caller's own permissions (use --engine local with --as)")
        return run_athena(aws, sql, athena or AthenaTarget())
    from lakeward.query.local import run_local

    return run_local(aws, sql, principal)
