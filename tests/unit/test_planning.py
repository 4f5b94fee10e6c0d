"""Schema planning on schemas and canned answers: no files, no Spark session."""
import pytest
from pyspark.sql import types as T

from catalog import types as C
from catalog.schema import CatalogTable, Column, TableDefinition
from lakeward.errors import SpecError
from lakeward.ingest.content_types import ContentType
from lakeward.ingest.planning import PartSchema, plan_batch
from lakeward.ingest.request import IngestRequest, Origin
from lakeward.tables.ledger import LedgerState
from lakeward.tables.state import TableState, parquet_state

pytestmark = pytest.mark.unit


class Answers:
    """A Sampler that answers from what the test says the data holds, and records what it was asked."""

    def __init__(self, content=None, together=None):
        self.content = content or {}
        self.together_counts = together or {}
        self.asked: list[str] = []

    def together(self, part, groups):
        return {target: self.together_counts.get(target, 0) for target in groups}

    def content_types(self, part, fields):
        self.asked += [f.name for f in fields]
        return {f.name: self.content[f.name] for f in fields if f.name in self.content}


def fields(**types):
    return PartSchema([T.StructField(name, t) for name, t in types.items()])


NEW = TableState(None, (), None, {}, None)


def plan(parts, existing=NEW, sampler=None, **request):
    request.setdefault("table", "db.t")
    return plan_batch(parts, existing, IngestRequest(**request), sampler or Answers(), "db", "t", "file:///lake/db/t",
                      "file:///raw")


def test_a_new_table_takes_normalised_names_content_types_and_hints():
    sampler = Answers({"Order TS": ContentType(C.TIMESTAMP, "ISO-8601 timestamp"),
                       "price": ContentType(C.Decimal(38, 2), "decimal with 2 places")})
    target = plan([fields(**{"orderId": T.LongType(), "Order TS": T.StringType(), "price": T.StringType(),
                             "zip": T.LongType()})], sampler=sampler, partition_by="dt=date(order_ts)",
                  hints={"zip": C.STRING})
    columns = {c.name: c for c in target.definition.columns}
    assert [c.name for c in target.definition.columns] == ["order_id", "order_ts", "price", "zip"]
    assert (columns["order_ts"].type, columns["price"].type, columns["zip"].type) == (
        C.TIMESTAMP, C.Decimal(38, 2), C.STRING)
    assert columns["order_ts"].parameters["lakeward.parsed_from"] == "string (ISO-8601 timestamp)"
    assert columns["order_id"].parameters["lakeward.raw_names"] == '["orderId"]'
    assert [(k.name, k.type) for k in target.definition.partition_keys] == [("dt", C.DATE)]
    assert target.definition.parameters["lakeward.partition_spec"] == "dt=date(order_ts)"
    assert sorted(sampler.asked) == ["Order TS", "orderId", "price", "zip"]  # a new table: every field sampled


def _existing():
    table = TableDefinition("db", "t", "parquet", "file:///lake/db/t", (
        Column("id", C.BIGINT, parameters={"lakeward.raw_names": '["id"]', "lakeward.first_seen": "x"}),
        Column("ts", C.TIMESTAMP, parameters={"lakeward.parsed_from": "string (ISO-8601 timestamp)",
                                              "lakeward.first_seen": "x"}),
        Column("note", C.STRING, parameters={"lakeward.first_seen": "x"})),
        parameters={"lakeward.partition_spec": "", "lakeward.evolution": "evolve"})
    return parquet_state(CatalogTable(table, "1"), LedgerState())


def test_fields_the_table_holds_are_not_sampled_and_text_into_typed_columns_is_checked():
    sampler = Answers({"extra": ContentType(C.DATE, "ISO-8601 date")})
    target = plan([fields(id=T.LongType(), ts=T.StringType(), note=T.StringType(), extra=T.StringType())],
                  _existing(), sampler)
    assert sampler.asked == ["extra"]  # the batch's schema is the table's but for one new column
    assert [c.describe() for c in target.plan.changes] == ["added column extra date"]
    assert target.plan.conflicts == [] and [(c.column, c.table_type) for c in target.converted] == [("ts", "timestamp")]
    assert target.new_columns() == ["extra"]


def test_a_widening_older_files_cannot_follow_is_a_rewrite_unless_quarantine_is_asked():
    target = plan([fields(id=T.DoubleType())], _existing())
    assert (target.plan.conflicts, target.definition.column("id").type) == ([], C.DOUBLE)
    assert [(r.column, r.old_type, r.new_type) for r in target.plan.rewrites] == [("id", "bigint", "double")]
    kept = plan([fields(id=T.DoubleType())], _existing(), widen="quarantine")
    assert [(c.column, c.table_type, c.batch_type) for c in kept.plan.conflicts] == [("id", "bigint", "double")]
    assert kept.plan.rewrites == [] and kept.definition.column("id").type == C.BIGINT
    text = plan([fields(id=T.StringType())], _existing())  # no numeric type holds text: a conflict still
    assert [c.column for c in text.plan.conflicts] == ["id"] and text.plan.rewrites == []


def test_names_that_normalise_alike_merge_unless_a_record_sets_both():
    merged = plan([fields(orderId=T.LongType(), order_id=T.LongType())])
    assert [c.name for c in merged.definition.columns] == ["order_id"]
    apart = plan([fields(orderId=T.LongType(), order_id=T.LongType())], sampler=Answers(together={"order_id": 3}))
    assert [c.name for c in apart.definition.columns] == ["order_id", "order_id_2"]


@pytest.mark.parametrize("origin, spelled", [
    (Origin("cli"), "--partition-by"), (Origin("glue"), "--partition_by"), (Origin("api"), "partition_by"),
    (Origin("cli", "lakeward.yaml: tables['db.t']"), "lakeward.yaml: tables['db.t'].partition_by"),
    (Origin("cli", "lakeward.yaml: tables['db.t']", frozenset({"partition_by"})), "--partition-by")])
def test_errors_name_the_setting_as_the_front_door_spells_it(origin, spelled):
    with pytest.raises(SpecError) as e:
        plan([fields(id=T.LongType())], _existing(), partition_by="id", origin=origin)
    assert f"{spelled} 'id' would change it" in str(e.value)


def test_freeze_needs_a_table():
    with pytest.raises(SpecError, match="evolution freeze: table db.t does not exist yet"):
        plan([fields(id=T.LongType())], evolution="freeze")


def test_a_frozen_table_lists_what_it_lacks_and_changes_nothing_in_the_catalog():
    existing = _existing()
    target = plan([fields(id=T.LongType(), extra=T.StringType())], existing, evolution="freeze")
    assert target.plan.unknown == ["extra"] and target.plan.changes == []
    assert target.definition.columns == existing.columns
