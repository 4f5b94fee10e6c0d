"""``lakeward query --engine athena``: the statement as written, run by Amazon Athena.

StartQueryExecution in the configured workgroup (and output location), GetQueryExecution polled with
backoff until the query ends, GetQueryResults paginated. A failed query's reason is shown as Athena gives it.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from lakeward.errors import QueryError
from lakeward.query.tables import QueryResult
from lakeward.runtime.aws import AwsContext

_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


@dataclass(frozen=True)
class AthenaTarget:
    workgroup: str = "primary"
    output: str = ""  # s3:// URI; empty: the workgroup's result location
    timeout_s: float = 1800.0
    first_poll_s: float = 0.2
    max_poll_s: float = 5.0


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace(" UTC", "+00:00"))


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "tinyint": int, "smallint": int, "integer": int, "bigint": int,
    "double": float, "float": float, "real": float, "decimal": Decimal,
    "boolean": lambda v: v == "true", "date": dt.date.fromisoformat, "timestamp": _timestamp,
}


def _value(text: str | None, athena_type: str) -> Any:
    if text is None:
        return None
    convert = _CONVERTERS.get(athena_type.split("(")[0].lower())
    try:
        return convert(text) if convert else text
    except ValueError:
        return text


def _call(action: str, fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    try:
        return fn(**kwargs)
    except ClientError as e:
        error = e.response.get("Error", {})
        raise QueryError(f"Athena {action} refused: {error.get('Code')}: {error.get('Message')}") from e
    except BotoCoreError as e:
        raise QueryError(f"Athena {action} failed: {e}") from e


def run_athena(aws: AwsContext, sql: str, target: AthenaTarget = AthenaTarget()) -> QueryResult:
    athena = aws.client("athena")
    request: dict[str, Any] = {"QueryString": sql, "WorkGroup": target.workgroup}
    if target.output:
        request["ResultConfiguration"] = {"OutputLocation": target.output}
    query_id = _call("StartQueryExecution", athena.start_query_execution, **request)["QueryExecutionId"]
    execution = _wait(athena, query_id, target)
    status = execution["Status"]
    if status["State"] != "SUCCEEDED":
        reason = status.get("StateChangeReason") or (status.get("AthenaError") or {}).get("ErrorMessage", "")
        raise QueryError(f"Athena query {query_id} {status['State']}: {reason}")
    return _results(athena, query_id, execution.get("StatementType", "DML"))


def _wait(athena: Any, query_id: str, target: AthenaTarget) -> dict[str, Any]:
    deadline = time.monotonic() + target.timeout_s
    pause = target.first_poll_s
    while True:
        execution = _call("GetQueryExecution", athena.get_query_execution,
                          QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] in _DONE:
            return execution
        if time.monotonic() > deadline:
            _call("StopQueryExecution", athena.stop_query_execution, QueryExecutionId=query_id)
            raise QueryError(f"Athena query {query_id} still {execution['Status']['State']} after "
                             f"{target.timeout_s:.0f} s (LAKEWARD_ATHENA_TIMEOUT_S); it was stopped")
        time.sleep(pause)
        pause = min(pause * 1.6, target.max_poll_s)


def _results(athena: Any, query_id: str, statement_type: str) -> QueryResult:
    columns: list[str] = []
    types: list[str] = []
    rows: list[tuple] = []
    try:
        pages = athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
        for number, page in enumerate(pages):
            result = page["ResultSet"]
            if number == 0:
                info = result.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns, types = [c["Name"] for c in info], [c.get("Type", "varchar") for c in info]
            data = [[cell.get("VarCharValue") for cell in row.get("Data", [])] for row in result.get("Rows", [])]
            if number == 0 and statement_type == "DML" and data and data[0] == columns:
                data = data[1:]  # a SELECT's first row repeats the column names
            rows.extend(tuple(_value(v, t) for v, t in zip(row, types)) for row in data)
    except ClientError as e:
        error = e.response.get("Error", {})
        raise QueryError(f"Athena GetQueryResults refused: {error.get('Code')}: {error.get('Message')}") from e
    return QueryResult(columns, rows)
