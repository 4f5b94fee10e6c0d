import bz2
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeward.ingest.sources import discover
from lakeward.runtime.storage import Storage, to_uri

pytestmark = pytest.mark.unit


def detect(tmp_path):
    return {f.name: f for f in discover(Storage(), to_uri(str(tmp_path)))}


def test_formats_are_detected_from_content_and_name(tmp_path):
    (tmp_path / "lines.json").write_text('{"a": 1}\n{"a": 2}\n')
    (tmp_path / "array.json").write_text(json.dumps([{"a": 1}], indent=2))
    (tmp_path / "pretty.json").write_text('{\n "a": 1\n}\n')
    (tmp_path / "comma.csv").write_text("a,b\n1,2\n")
    (tmp_path / "semi.txt").write_text("a;b;c\n1;2;3\n4;5;6\n")
    (tmp_path / "tabs.tsv").write_text("a\tb\n1\t2\n")
    (tmp_path / "noheader.csv").write_text("1,2\n3,4\n")
    pq.write_table(pa.table({"a": [1]}), tmp_path / "data.bin")
    with gzip.open(tmp_path / "z.jsonl.gz", "wt") as f:
        f.write('{"a": 1}\n')
    (tmp_path / "b.csv.bz2").write_bytes(bz2.compress(b"x|y\n1|2\n"))
    (tmp_path / "_SUCCESS").write_text("")
    found = detect(tmp_path)
    assert {n: f.format for n, f in found.items()} == {
        "lines.json": "jsonl", "array.json": "json", "pretty.json": "json", "comma.csv": "csv",
        "semi.txt": "csv", "tabs.tsv": "csv", "noheader.csv": "csv", "data.bin": "parquet",
        "z.jsonl.gz": "jsonl", "b.csv.bz2": "csv"}
    assert found["semi.txt"].delimiter == ";" and found["tabs.tsv"].delimiter == "\t"
    assert found["b.csv.bz2"].delimiter == "|" and found["b.csv.bz2"].compression == "bzip2"
    assert found["comma.csv"].header and not found["noheader.csv"].header


def test_unreadable_files_get_a_reason_naming_the_fix(tmp_path):
    (tmp_path / "hidden_gzip.json").write_bytes(gzip.compress(b'{"a": 1}\n'))
    (tmp_path / "fake.gz").write_text("not compressed")
    (tmp_path / "blob.dat").write_bytes(b"\x00\x01\x02garbage")
    (tmp_path / "cut.parquet").write_bytes(b"PAR1" + b"\x00" * 20)
    (tmp_path / "prose.txt").write_text("Dear reader\n")
    found = detect(tmp_path)
    assert "rename it" in found["hidden_gzip.json"].problem
    assert "not gzip" in found["fake.gz"].problem
    assert "binary" in found["blob.dat"].problem
    assert "Parquet" in found["cut.parquet"].problem
    assert found["prose.txt"].format == "csv"  # one text column: read as a headered CSV


def test_json_layout_never_hands_spark_several_documents(tmp_path):
    (tmp_path / "concat.json").write_text('{\n "a": 1\n}\n{\n "a": 2\n}\n')
    (tmp_path / "lines_bad_first.json").write_text('{"a": \n{"a": 2}\n{"a": 3}\n')
    (tmp_path / "one_doc.json").write_text('{\n "a": [1, 2]\n}\n')
    (tmp_path / "big_first_line.json").write_text(json.dumps({"x": "y" * 100_000}) + "\n" + '{"x": "z"}\n')
    (tmp_path / "utf16.csv").write_bytes("a,b\n1,2\n".encode("utf-16"))
    (tmp_path / "quoted.csv").write_text('id,note\n1,"two\nlines"\n2,plain\n')
    (tmp_path / "pandas.csv").write_text(",name,amount\n0,a,1\n")
    found = detect(tmp_path)
    assert found["concat.json"].format is None and "several JSON documents" in found["concat.json"].problem
    assert found["lines_bad_first.json"].format == "jsonl"
    assert found["one_doc.json"].format == "json"
    assert found["big_first_line.json"].format == "jsonl"
    assert "UTF-16" in found["utf16.csv"].problem
    assert found["quoted.csv"].multiline
    assert found["pandas.csv"].header
