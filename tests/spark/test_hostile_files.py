"""1,000 hostile files in one raw zone, ingested in one run: every record is written or quarantined with
a reason, each file's rows read are the records it holds, and nothing crashes or hangs.

The generator is seeded (the same 1,000 files every run) and knows how many records each file holds,
by construction: a record is a line of JSON lines, a data row of CSV (quoted newlines included), and a
whole file that cannot be read at all (binary garbage, UTF-16, a truncated gzip) counts as one.
"""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from tests.helpers import ingest, quarantined

pytestmark = [pytest.mark.spark, pytest.mark.aws, pytest.mark.timeout(900)]

HEADERS = [["id", "name", "amount"], ["id", "id", "note"], ["", "value", ""], ["code", "city;state", "zip"]]


def _value(rng: random.Random) -> str:
    return rng.choice(["plain", "with, comma", 'with "quotes"', "line\nbreak", "tab\there", "ünïcødé", "",
                       "NA", "02134", "12.50", "  padded  "])


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\t;') else value


def _jsonl(rng: random.Random, n: int) -> str:
    return "".join(json.dumps({"id": i, "v": _value(rng), "n": rng.choice([1, 2.5, "x", None])}) + "\n"
                   for i in range(n))


def generate(folder: Path, count: int = 1000, seed: int = 11) -> dict[str, int]:
    """Write ``count`` hostile files; returns file name -> the records it holds."""
    rng = random.Random(seed)
    expected: dict[str, int] = {}
    folder.mkdir(parents=True)
    for i in range(count):
        kind = rng.choice(["jsonl", "jsonl_crlf_bom", "truncated_jsonl", "gzip", "truncated_gzip", "garbage",
                           "utf16", "latin1_csv", "csv", "csv_crlf", "header_only", "json_as_csv", "deep",
                           "empty_lines"])
        n = rng.randint(1, 30)
        name = f"f{i:04d}"
        if kind == "jsonl":
            path, data, records = f"{name}.jsonl", _jsonl(rng, n).encode(), n
        elif kind == "jsonl_crlf_bom":
            path, data, records = f"{name}.jsonl", ("\ufeff" + _jsonl(rng, n).replace("\n", "\r\n")).encode(), n
        elif kind == "truncated_jsonl":
            text = _jsonl(rng, n + 1)
            path, data, records = f"{name}.json", text[:text.rstrip("\n").rfind("\n") + 6].encode(), n + 1
        elif kind == "gzip":
            path, data, records = f"{name}.jsonl.gz", gzip.compress(_jsonl(rng, n).encode()), n
        elif kind == "truncated_gzip":
            whole = gzip.compress(_jsonl(rng, 200).encode())
            path, data, records = f"{name}.jsonl.gz", whole[:len(whole) // 2], 1
        elif kind == "garbage":
            path, data, records = f"{name}.{rng.choice(['json', 'csv', 'parquet', 'txt'])}", rng.randbytes(2000), 1
        elif kind == "utf16":
            path, data, records = f"{name}.csv", ("id,name\n" + "".join(f"{j},n{j}\n" for j in range(n))).encode(
                "utf-16"), 1
        elif kind in ("latin1_csv", "csv", "csv_crlf", "header_only"):
            header = rng.choice(HEADERS)
            rows = 0 if kind == "header_only" else n
            lines = [",".join(_csv_field(h) for h in header)] + [
                ",".join(_csv_field(_value(rng)) if c else str(j) for c in range(len(header))) for j in range(rows)]
            text = ("\r\n" if kind == "csv_crlf" else "\n").join(lines) + "\n"
            encoding = "latin-1" if kind == "latin1_csv" else "utf-8"
            path, data, records = f"{name}.csv", text.encode(encoding, errors="replace"), rows
        elif kind == "json_as_csv":
            path, data, records = f"{name}.csv", _jsonl(rng, n).encode(), n
        elif kind == "deep":
            doc: object = {"leaf": i}
            for _ in range(200):
                doc = {"d": doc}
            path, data, records = f"{name}.jsonl", (json.dumps(doc) + "\n").encode(), 1
        else:
            path, data, records = f"{name}.jsonl", ("\n\n" + _jsonl(rng, n).replace("\n", "\n\n")).encode(), n
        (folder / path).write_bytes(data)
        expected[path] = records
    big = "x" * (10 * 2**20)
    (folder / "big.jsonl").write_text(json.dumps({"id": 1, "v": big}) + "\n" + json.dumps({"id": 2, "v": "s"}) + "\n")
    expected["big.jsonl"] = 2
    return expected


def test_a_thousand_hostile_files_lose_nothing(workdir, glue):
    expected = generate(workdir / "raw")
    report = ingest(workdir / "raw", "db.hostile_files", workdir / "lake")
    assert report["rows_read"] == report["rows_written"] + report["rows_quarantined"]
    assert report["rows_read"] == sum(expected.values())
    per_file = {f["path"].rsplit("/", 1)[-1]: f for f in report["files"]}
    assert set(per_file) == set(expected)
    wrong = {name: (per_file[name]["rows_read"], records) for name, records in expected.items()
             if per_file[name]["rows_read"] != records}
    assert not wrong, wrong
    bad = quarantined(workdir / "lake", "db", "hostile_files", "part-*.json")
    bad += quarantined(workdir / "lake", "db", "hostile_files", "files.jsonl")
    assert all(r.get("reason") for r in bad)
