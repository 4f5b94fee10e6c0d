import pytest

from catalog import types as C
from catalog.definitions import PARQUET_SERDE, partition_input, table_from_glue, table_input
from catalog.schema import Column, TableDefinition

pytestmark = pytest.mark.unit

COLUMNS = (Column("id", C.STRING), Column("payload", C.Struct((C.Field("x", C.INT),))))
KEYS = (Column("dt", C.DATE),)


def test_parquet_table_input_is_what_athena_needs():
    t = TableDefinition("db", "t", "parquet", "s3://b/db/t", COLUMNS, KEYS, {"lakeward.partition_spec": "dt"})
    ti = table_input(t)
    assert ti["TableType"] == "EXTERNAL_TABLE"
    assert ti["Parameters"]["classification"] == "parquet"
    assert ti["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    assert [c["Name"] for c in ti["StorageDescriptor"]["Columns"]] == ["id", "payload"]
    assert ti["StorageDescriptor"]["Columns"][1]["Type"] == "struct<x:int>"
    assert ti["PartitionKeys"] == [{"Name": "dt", "Type": "date"}]
    part = partition_input(t, ("2024-01-01",), "s3://b/db/t/dt=2024-01-01")
    assert part["Values"] == ["2024-01-01"]
    assert part["StorageDescriptor"]["Location"] == "s3://b/db/t/dt=2024-01-01"


def test_delta_table_input_lists_the_log_schema_and_no_partition_keys():
    t = TableDefinition("db", "t", "delta", "s3://b/db/t", COLUMNS, KEYS)
    ti = table_input(t)
    assert ti["Parameters"]["table_type"] == "DELTA"
    assert ti["PartitionKeys"] == []
    assert [c["Name"] for c in ti["StorageDescriptor"]["Columns"]] == ["id", "payload", "dt"]


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_table_input_round_trips(fmt):
    t = TableDefinition("db", "t", fmt, "s3://b/db/t", COLUMNS, KEYS, {"owner": "x"})
    back = table_from_glue("db", {**table_input(t), "VersionId": "3"})
    assert back.definition == t and back.version_id == "3"


def test_column_diff_names_added_changed_and_removed_columns():
    from catalog.history import column_diff

    old = (Column("a", C.INT), Column("b", C.STRING))
    new = (Column("a", C.BIGINT), Column("c", C.DATE))
    assert column_diff(old, new) == ["~ a int -> bigint", "+ c date", "- b string"]
    assert column_diff(new, new) == []


def test_a_partition_keeps_declaring_a_narrower_type_only_where_athena_casts_it():
    from catalog.definitions import behind, partition_columns
    from catalog.schema import Partition

    table = TableDefinition("db", "t", "parquet", "s3://b/t", (
        Column("id", C.BIGINT), Column("amount", C.DOUBLE), Column("day", C.TIMESTAMP), Column("note", C.STRING)))
    own = (Column("id", C.INT), Column("amount", C.BIGINT), Column("day", C.DATE))
    kept = partition_columns(table, own)
    # int -> bigint: Parquet readers follow the files, so the partition takes the table's type; bigint ->
    # double: Athena casts per partition, so it keeps bigint; date -> timestamp: Athena does not cast it
    assert [(c.name, C.to_hive(c.type)) for c in kept] == [
        ("id", "bigint"), ("amount", "bigint"), ("day", "timestamp"), ("note", "string")]
    assert behind(table, Partition(("x",), "s3://b/t/x", kept)) == ["amount"]
    assert behind(table, Partition(("x",), "s3://b/t/x", None)) == []
