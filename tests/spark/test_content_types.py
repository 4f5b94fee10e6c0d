"""Typing text by its content: numbers only from text sources, codes with leading zeros stay text,
missing-value tokens decide nothing, and no number is typed where it would wrap or round."""
import pytest
from pyspark.sql import types as T

from catalog import types as C
from lakeward.ingest.content_types import infer_content_types

pytestmark = pytest.mark.spark

CASES = [
    (["1", "2", "NA", "-3", "+4", None], True, C.BIGINT),
    (["2024-03-01", None], False, C.DATE),
    (["02134", "10001", "94105"], True, None),  # ZIP codes
    (["007"], True, None),
    (["0", "0.5", "1.25", "-0.75"], True, C.DOUBLE),
    (["1e5", "2.5E-3", "3"], True, C.DOUBLE),
    (["12.50", "3.00", "NA", "#N/A"], True, C.Decimal(38, 2)),
    (["12.50", "3.125"], True, C.DOUBLE),  # not one fixed number of places
    (["12345678901234567890", "1"], True, C.Decimal(38, 0)),  # past bigint: never wrapped
    (["1" * 39], True, None),  # past decimal(38): text, never rounded
    (["0.12345678901234567890", "1.5"], True, C.Decimal(38, 20)),  # more digits than a double keeps
    (["2024-01-01", "N/A", "2024-02-29"], True, C.DATE),
    (["2024-01-01T10:00:00Z", "2024-01-02"], True, C.TIMESTAMP),
    (["true", "False", "NULL"], True, C.BOOLEAN),
    (["1,234", "5"], True, None),
    (["NA", "-", "null"], True, None),  # only tokens: nothing to type
    (["1", "2"], False, None),  # a JSON string that holds digits was quoted on purpose
    (["12.50", "null"], False, C.Decimal(38, 2)),
    (["2024-02-30"], True, None),  # not a date Spark can convert
]


@pytest.mark.parametrize("values,text,expected", CASES)
def test_text_is_typed_by_its_content(spark, values, text, expected):
    df = spark.createDataFrame([(v,) for v in values], T.StructType([T.StructField("v", T.StringType())]))
    typed = infer_content_types(df, df.schema.fields, None, text_source=text)
    assert (typed["v"].type if "v" in typed else None) == expected
