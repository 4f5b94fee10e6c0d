"""lakeward query --engine athena against moto's Athena API (seeded results; a proxy plays a failing query)."""
import json
import urllib.request

import boto3
import pytest

from tests.aws_proxy import aws_proxy
from tests.helpers import cli

pytestmark = pytest.mark.aws

COLUMNS = [{"Name": "country", "Type": "varchar"}, {"Name": "orders", "Type": "bigint"},
           {"Name": "revenue", "Type": "double"}, {"Name": "day", "Type": "date"},
           {"Name": "last_ts", "Type": "timestamp"}]


def seed(endpoint: str, rows: list[list[str | None]]) -> None:
    """The next Athena query on the moto server returns these rows (the header row first, as Athena sends it)."""
    header = {"Data": [{"VarCharValue": c["Name"]} for c in COLUMNS]}
    body = {"results": [{"rows": [header] + [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                                              for row in rows],
                         "column_info": [{**c, "Label": c["Name"], "Nullable": "UNKNOWN", "CaseSensitive": True,
                                          "CatalogName": "hive", "SchemaName": "", "TableName": "",
                                          "Precision": 0, "Scale": 0} for c in COLUMNS]}]}
    request = urllib.request.Request(f"{endpoint}/moto-api/static/athena/query-results", method="POST",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()


def paginate_like_athena(action: str, request: bytes, status: int, body: bytes) -> tuple[int, bytes]:
    """moto answers GetQueryResults in one page; Athena sends at most 1,000 rows a page with a NextToken."""
    if action != "GetQueryResults" or status != 200:
        return status, body
    answer, token = json.loads(body), json.loads(request or b"{}").get("NextToken")
    start = int(token) if token else 0
    rows = answer["ResultSet"]["Rows"]
    answer["ResultSet"]["Rows"] = rows[start:start + 1000]
    answer.pop("NextToken", None)
    if start + 1000 < len(rows):
        answer["NextToken"] = str(start + 1000)
    return status, json.dumps(answer).encode()


def test_athena_engine_submits_the_statement_as_written_and_reads_every_typed_row(aws_env, monkeypatch):
    monkeypatch.setenv("LAKEWARD_ATHENA_OUTPUT", "s3://results/lakeward/")
    athena = boto3.client("athena", endpoint_url=aws_env, region_name="us-east-1")
    athena.create_work_group(Name="analysts")
    monkeypatch.setenv("LAKEWARD_ATHENA_WORKGROUP", "analysts")
    rows = [[f"C{i:04d}", str(i), f"{i}.5", "2024-03-01", "2024-03-01 10:00:00.000"] for i in range(1500)]
    rows.append(["NULLS", None, None, None, None])
    seed(aws_env, rows)
    sql = "SELECT country, count(*) AS orders FROM demo.orders WHERE order_ts > now() - INTERVAL '1' DAY GROUP BY 1"
    proxy = aws_proxy(aws_env, paginate_like_athena)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.server_port}")
    result = cli("query", sql, "--engine", "athena", "--output", "json")
    proxy.shutdown()
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert len(got) == 1501  # two pages; the header row (first row of the first page only) is not a row
    assert got[7] == {"country": "C0007", "orders": 7, "revenue": 7.5, "day": "2024-03-01",
                      "last_ts": "2024-03-01 10:00:00"}
    assert got[-1] == {"country": "NULLS", "orders": None, "revenue": None, "day": None, "last_ts": None}
    [execution_id] = athena.list_query_executions(WorkGroup="analysts")["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == sql  # untranslated: Athena runs Trino SQL itself
    assert execution["ResultConfiguration"]["OutputLocation"].startswith("s3://results/lakeward/")


def test_a_failed_athena_query_shows_athena_reason_after_polling(aws_env, monkeypatch):
    polls = []

    def play_a_failure(action: str, request: bytes, status: int, body: bytes) -> tuple[int, bytes]:
        if action != "GetQueryExecution":
            return status, body
        polls.append(action)
        answer = json.loads(body)
        answer["QueryExecution"]["Status"] = (
            {"State": "RUNNING"} if len(polls) < 3 else
            {"State": "FAILED", "StateChangeReason": "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"})
        return 200, json.dumps(answer).encode()

    proxy = aws_proxy(aws_env, play_a_failure)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.server_port}")
    result = cli("query", "SELECT nope FROM demo.orders", "--engine", "athena")
    proxy.shutdown()
    assert result.exit_code != 0
    assert "FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved" in result.output
    assert len(polls) == 3  # polled while RUNNING, with backoff, until the query ended


def test_athena_refusals_and_the_local_preview_of_grants_are_clear(aws_env):
    refused = cli("query", "SELECT 1", "--engine", "athena", "--as", "arn:aws:iam::123456789012:role/analyst")
    assert refused.exit_code != 0 and "--as previews Lake Formation grants with the local engine" in refused.output
