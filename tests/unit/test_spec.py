"""The table spec: what it accepts, and errors that name the file and the key."""
import pytest

from catalog import types as C
from lakeward.errors import SpecError
from lakeward.spec import load_spec, parse_hints, requests

pytestmark = pytest.mark.unit

GOOD = """
lake: s3://bucket/lake
tables:
  sales.orders:
    source: s3://bucket/raw/orders/
    format: delta
    partition_by: dt=date(order_ts)
    evolution: rescue
    hints:
      amount: decimal(12,2)
      tags: array<string>
  sales.returns:
    source: raw/returns
"""


def test_a_spec_becomes_one_request_per_table_and_overrides_win():
    spec = load_spec(GOOD, "lakeward.yaml")
    orders, returns = requests(spec)
    assert (orders.table, orders.format, orders.partition_by, orders.evolution, orders.lake) == (
        "sales.orders", "delta", "dt=date(order_ts)", "rescue", "s3://bucket/lake")
    assert orders.hints == {"amount": C.Decimal(12, 2), "tags": C.Array(C.STRING)}
    assert (returns.format, returns.hints) == (None, {})
    only, = requests(spec, "SALES.Returns", "other-lake", evolution="freeze", source=None)
    assert (only.table, only.lake, only.evolution, only.source) == ("sales.returns", "other-lake", "freeze",
                                                                    "raw/returns")


@pytest.mark.parametrize("text, message", [
    ("tables:\n  sales.orders:\n    source: x\n    write: merge\n", "tables['sales.orders'].write: Extra inputs"),
    ("tables:\n  sales.orders:\n    source: x\n    mode: merge\n", "tables['sales.orders']: mode merge needs merge_keys"),
    ("tables:\n  a.b:\n    source: x\n    merge_keys: [id]\n", "merge_keys, change_column and order_by apply to mode merge"),
    ("tables:\n  orders:\n    source: x\n", "'orders': a table is named DB.TABLE"),
    ("tables:\n  a.b:\n    source: x\n    hints:\n      Amount: int\n", "'Amount' is not a column name"),
    ("tables:\n  a.b:\n    source: x\n    hints:\n      amount: money\n", "amount: 'money' is not an Athena type"),
    ("tables:\n  a.b:\n    source: x\n    format: csv\n", "tables['a.b'].format: Input should be 'parquet' or 'delta'"),
    ("tables:\n  a.b:\n    source: x\n    partition_by: d=week(ts)\n", "unknown transform 'week'"),
    ("tables:\n  a.b:\n    format: delta\n", "tables['a.b'].source: Field required"),
    ("tables: {}\n", "expected a 'tables' or a 'governance' section"),
    ("governance:\n  ontology: {sensitivity: [public]}\n  database_tags: {sensitivity: secret}\n",
     "database_tags: sensitivity='secret' is not an allowed value (public)"),
    ("governance:\n  ontology: {s: [a]}\n  grants:\n    - {principal: bob, tags: {s: [a]}, permissions: [SELECT]}\n",
     "governance.grants.0.principal: 'bob' is not an IAM role/user ARN"),
    ("governance:\n  ontology: {s: [a]}\n  overrides: {orders.email: {pii: none, reason: x}}\n",
     "'orders.email': name a top-level column as DB.TABLE.COLUMN, lowercase"),
    ("governance:\n  ontology: {s: [a]}\n  rules: {EMAILS: {s: a}}\n", "'EMAILS' is not an entity"),
    ("- just a list\n", "expected a mapping with a 'tables' key"),
    ("tables: [\n", "not valid YAML"),
])
def test_bad_specs_name_the_file_and_the_key(text, message):
    with pytest.raises(SpecError) as e:
        load_spec(text, "conf/lakeward.yaml")
    assert str(e.value).startswith("conf/lakeward.yaml: ") and message in str(e.value)


def test_a_table_not_in_the_spec_is_named_with_the_ones_that_are():
    with pytest.raises(SpecError, match="table sales.refunds: not in the spec, which declares sales.orders, sales.returns"):
        requests(load_spec(GOOD, "s"), "sales.refunds")
    with pytest.raises(SpecError, match="--table sales.refunds: not in the spec"):
        requests(load_spec(GOOD, "s"), "sales.refunds", door="cli")


def test_command_line_hints():
    assert parse_hints(["zip=string", " amount = decimal(10,2) "]) == {"zip": C.STRING, "amount": C.Decimal(10, 2)}
    with pytest.raises(SpecError, match="--hint 'zip': "):
        parse_hints(["zip"])


def test_hints_with_impossible_decimals_are_refused_before_anything_runs():
    with pytest.raises(SpecError, match=r"amount: 'decimal\(40,2\)' is not an Athena type .*precision of 1 to 38"):
        load_spec("tables:\n  a.b:\n    source: x\n    hints:\n      amount: decimal(40,2)\n", "s.yaml")
