import pyarrow as pa
import pytest

from lakeward.ingest.type_attribution import FileTypes, batch_type_conflicts, csv_kinds, json_kinds, parquet_kinds

pytestmark = pytest.mark.unit


def test_json_kinds_merge_like_spark_and_skip_nulls_and_a_cut_last_line():
    text = '{"a": 1, "b": null, "c": {"x": 1}}\n{"a": 2.5, "b": "s", "d": [1]}\n{"a": "cut'
    assert json_kinds(text, "jsonl", complete=False) == (("a", "double"), ("c", "struct"), ("b", "string"),
                                                         ("d", "array"))
    assert json_kinds('[{"a": true}, {"a": 1}]', "json", complete=True) == (("a", "string"),)
    assert json_kinds('[{"a": true}', "json", complete=False) == ()


def test_csv_kinds_follow_the_header_or_spark_default_names():
    assert csv_kinds("id;price;ok\n1;2;true\n2;2.5;false\n", ";", header=True, complete=True) == (
        ("id", "bigint"), ("price", "double"), ("ok", "boolean"))
    assert csv_kinds("1,x\n2,y\n", ",", header=False, complete=True) == (("_c0", "bigint"), ("_c1", "string"))


def test_parquet_kinds_and_conflicts_per_column():
    kinds = parquet_kinds(pa.schema([("n", pa.int32()), ("s", pa.struct([("x", pa.string())]))]))
    assert kinds == (("n", "bigint"), ("s", "struct"))
    files = [FileTypes("s3://b/a.parquet", kinds, {"n": "n", "s": "s"}),
             FileTypes("s3://b/b.json", (("N", "string"), ("s", "struct")), {"N": "n", "s": "s"})]
    assert batch_type_conflicts(files, {"n": "string", "s": "struct<x:string>"}) == [
        {"column": "n", "type": "string", "files": {"bigint": ["s3://b/a.parquet"], "string": ["s3://b/b.json"]}}]
