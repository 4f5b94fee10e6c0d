"""An independent check of a Delta table against the Delta transaction protocol (PROTOCOL.md), reading the
log's JSON and checkpoint files directly, without deltalake: what every table lakeward writes must pass."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pyarrow.parquet as pq

from tests.lakes import LakeDir

PRIMITIVES = {"string", "long", "integer", "short", "byte", "float", "double", "decimal", "boolean", "binary",
              "date", "timestamp", "timestamp_ntz"}


def _check_type(t, where: str) -> None:
    if isinstance(t, str):
        assert t in PRIMITIVES or t.startswith("decimal("), f"{where}: unknown type {t!r}"
        return
    kind = t["type"]
    if kind == "struct":
        names = [f["name"] for f in t["fields"]]
        assert len(names) == len(set(names)), f"{where}: duplicate field names {names}"
        for f in t["fields"]:
            assert {"name", "type", "nullable", "metadata"} <= set(f), f"{where}.{f.get('name')}: incomplete field"
            _check_type(f["type"], f"{where}.{f['name']}")
    elif kind == "array":
        assert "containsNull" in t, f"{where}: array without containsNull"
        _check_type(t["elementType"], f"{where}[]")
    elif kind == "map":
        assert "valueContainsNull" in t, f"{where}: map without valueContainsNull"
        _check_type(t["keyType"], f"{where}.key")
        _check_type(t["valueType"], f"{where}.value")
    else:
        raise AssertionError(f"{where}: unknown type {kind!r}")


def check_delta_table(location: Path | LakeDir) -> dict:
    """Replay every commit; assert the protocol's invariants; return the live files and final metadata."""
    location = LakeDir(location)
    log = location / "_delta_log"
    commits = sorted(log.glob("*.json"))
    assert commits, f"{location}: no commits"
    versions = [int(c.stem) for c in commits]
    assert versions == list(range(versions[0], versions[-1] + 1)), f"gaps in the log versions {versions}"
    protocol = metadata = None
    live: dict[str, dict] = {}
    last = log / "_last_checkpoint"
    checkpoint = json.loads(last.read_text())["version"] if last.exists() else None
    for commit in commits:
        actions = [json.loads(line) for line in commit.read_text().splitlines() if line.strip()]
        assert any("commitInfo" in a for a in actions), f"{commit.name}: no commitInfo"
        for action in actions:
            if "protocol" in action:
                protocol = action["protocol"]
                assert protocol["minReaderVersion"] >= 1 and protocol["minWriterVersion"] >= 2
            elif "metaData" in action:
                metadata = action["metaData"]
                assert metadata["id"] and metadata["format"]["provider"] == "parquet"
                schema = json.loads(metadata["schemaString"])
                assert schema["type"] == "struct"
                _check_type(schema, "schema")
                names = {f["name"] for f in schema["fields"]}
                assert set(metadata["partitionColumns"]) <= names, "partition columns missing from the schema"
            elif "add" in action:
                add = action["add"]
                for key in ("path", "size", "partitionValues", "modificationTime", "dataChange", "stats"):
                    assert key in add, f"{commit.name}: add {add.get('path')} without {key}"
                stats = json.loads(add["stats"])
                assert stats["numRecords"] >= 0 and "nullCount" in stats
                assert set(add["partitionValues"]) == set(metadata["partitionColumns"]), add["partitionValues"]
                live[add["path"]] = add
            elif "remove" in action:
                live.pop(action["remove"]["path"], None)
        if checkpoint is not None and int(commit.stem) == checkpoint:
            _check_checkpoint(log / f"{checkpoint:020d}.checkpoint.parquet", set(live))
    assert protocol is not None and metadata is not None, "protocol or metaData missing"
    for path, add in live.items():
        data = location / unquote(path)
        assert data.size() == add["size"], f"{path}: size differs from the log"
        with data.open() as f:
            assert pq.ParquetFile(f).metadata.num_rows == json.loads(add["stats"])["numRecords"], path
    return {"files": live, "metadata": metadata, "protocol": protocol, "checkpoint": checkpoint}


def _check_checkpoint(path: LakeDir, live: set[str]) -> None:
    """A checkpoint holds the protocol, the metadata and exactly the live files at its version."""
    assert path.exists(), f"_last_checkpoint names {path.name}, which is missing"
    with path.open() as f:
        actions = pq.read_table(f).to_pylist()
    assert any(a.get("protocol") for a in actions) and any(a.get("metaData") for a in actions), path.name
    adds = {a["add"]["path"] for a in actions if a.get("add")}
    assert adds == live, f"{path.name}: {len(adds)} files, the log replayed to its version has {len(live)}"
