"""The DataFrame front door and the table session: frames in, committed and registered, checked in Glue,
in the Delta log and the ledger, and read back by engines that are not lakeward."""
import json

import pytest
from deltalake import DeltaTable

from lakeward.ingest.frames import frame_batch, ingest_frame
from lakeward.ingest.request import IngestRequest
from lakeward.ingest.table_writer import TableWriter
from lakeward.runtime.aws import aws_context
from lakeward.runtime.settings import Settings
from lakeward.tables.ledger import StreamPositions
from tests.delta_protocol import check_delta_table
from tests.engines import delta_rows, duckdb_rows

pytestmark = [pytest.mark.spark, pytest.mark.aws]


def _orders(spark, ids, **extra):
    rows = [{"orderId": f"o-{n}", "Amount": n * 1.5, "Order TS": f"2024-03-0{1 + n % 3}T10:00:00Z", **extra}
            for n in ids]
    return spark.createDataFrame(rows)


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_a_frame_lands_registered_and_its_batch_id_is_an_idempotency_key(spark, workdir, glue, table_format):
    settings = Settings.load({})
    request = IngestRequest("db.frames", format=table_format, partition_by="dt=date(order_ts)",
                            lake=str(workdir / "lake"), govern=False)
    with aws_context(settings) as aws:
        first = ingest_frame(spark, aws, request, _orders(spark, range(6)), batch_id="2024-03-01", settings=settings)
        again = ingest_frame(spark, aws, request, _orders(spark, range(6)), batch_id="2024-03-01", settings=settings)
    assert (first.rows_read, first.rows_written, first.rows_quarantined) == (6, 6, 0)
    assert again.already_committed and again.rows_read == 0
    table = glue.get_table(DatabaseName="db", Name="frames")["Table"]
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    assert {"order_id", "amount", "order_ts"} <= set(names)
    expected = sorted(f"o-{n}" for n in range(6))
    location = workdir / "lake/db/frames"
    if table_format == "delta":
        rows = delta_rows(location, ["order_id"], "order_id")
        check_delta_table(location)
        assert DeltaTable(str(location)).transaction_version("lakeward:2024-03-01") == 1
    else:
        rows = duckdb_rows(glue, "db", "frames", ["order_id", "dt"], "order_id")
    assert [r["order_id"] for r in rows] == expected


def test_one_session_evolves_the_table_batch_after_batch_and_records_positions(spark, workdir, glue):
    settings = Settings.load({})
    request = IngestRequest("db.stream", format="delta", lake=str(workdir / "lake"), govern=False)
    with aws_context(settings) as aws, TableWriter(spark, aws, request, settings) as writer:
        reports = [writer.ingest(frame_batch(_orders(spark, range(3)), "kafka://orders/0"), "c-0",
                                 StreamPositions("c", 0, {"0": 3})),
                   writer.ingest(frame_batch(_orders(spark, range(3, 5), coupon="X1"), "kafka://orders/0"), "c-1",
                                 StreamPositions("c", 1, {"0": 5})),
                   writer.ingest(frame_batch(_orders(spark, range(5, 6), coupon="X2"), "kafka://orders/0"), "c-2",
                                 StreamPositions("c", 2, {"0": 6}))]
        assert writer.ledger_state.positions["c"] == StreamPositions("c", 2, {"0": 6})
    assert [r.schema_changes for r in reports] == [[], ["added column coupon string"], []]
    assert [r.files[0].path for r in reports] == ["kafka://orders/0"] * 3
    table = glue.get_table(DatabaseName="db", Name="stream")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]][-1] == "coupon"
    location = workdir / "lake/db/stream"
    log = DeltaTable(str(location))
    assert log.transaction_version("lakeward:consumer:c") == 2
    assert json.loads(log.history(1)[0]["lakeward.positions"]) == {"consumer": "c", "batch": 2, "offsets": {"0": 6}}
    assert [r["coupon"] for r in delta_rows(location, ["order_id", "coupon"], "order_id")] == [
        None, None, None, "X1", "X1", "X2"]
    check_delta_table(location)
    with aws_context(settings) as aws, TableWriter(spark, aws, request, settings) as writer:  # a restart
        assert writer.ledger_state.positions["c"].offsets == {"0": 6}
        assert writer.committed("c-1")
