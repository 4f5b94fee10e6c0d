import pytest

from catalog import types as C
from lakeward.errors import SpecError
from catalog.partition_spec import PartitionField, parse_partition_spec, spec_text

pytestmark = pytest.mark.unit


def test_spec_parses_plain_and_derived_columns_with_normalised_names():
    fields = parse_partition_spec("Country, dt=date(Order TS)")
    assert fields == [PartitionField("country", "country"), PartitionField("dt", "order_ts", "date")]
    assert spec_text(fields) == "country,dt=date(order_ts)"
    assert parse_partition_spec(spec_text(fields)) == fields


@pytest.mark.parametrize("spec, message", [
    ("dt=week(ts)", "unknown transform 'week'"),
    ("dt=date(ts", "expected COL or NAME=TRANSFORM"),
    ("a,a", "twice"),
])
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(SpecError, match=message):
        parse_partition_spec(spec)


def test_unpartitionable_types_are_refused():
    with pytest.raises(SpecError, match="cannot partition by amount"):
        PartitionField("amount", "amount").result_type(C.DOUBLE)
    assert PartitionField("dt", "ts", "date").result_type(C.STRING) == C.DATE
