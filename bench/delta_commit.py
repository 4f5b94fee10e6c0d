"""How long a Delta commit takes for 1,000 and 10,000 files: footer statistics (lakeward reads each
file's Parquet footer for the add action's stats) and the delta-rs transaction, for a new table and for an
append to a table that already holds that many files; and how long reading the log back takes.
Local files (no S3 latency). Usage: python bench/delta_commit.py [--files 1000,10000]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from catalog.schema import Column
from catalog.types import BIGINT, STRING
from lakeward.engines.arrow_types import arrow_schema
from lakeward.runtime.storage import Storage, to_uri
from lakeward.tables import DataFile, delta


def write_files(root: Path, count: int, offset: int) -> list[DataFile]:
    files = []
    for i in range(offset, offset + count):
        day = f"2024-03-{1 + i % 28:02d}"
        relative = f"dt={day}/part-{i:06d}.parquet"
        (root / f"dt={day}").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"id": pa.array([i, i + 1], pa.int64()), "name": [f"n{i}", None]}), root / relative)
        files.append(DataFile(relative, {"dt": day}, (root / relative).stat().st_size))
    return files


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", default="1000,10000")
    args = parser.parse_args()
    storage = Storage({})
    schema = arrow_schema([Column("id", BIGINT), Column("name", STRING), Column("dt", STRING)])
    print(f"{'files':>7s} {'step':28s} {'seconds':>8s}")
    for count in (int(n) for n in args.files.split(",")):
        root = Path(tempfile.mkdtemp(prefix="lakeward-delta-bench-"))
        try:
            uri = to_uri(str(root))
            first = write_files(root, count, 0)
            actions, stats_s = timed(lambda: delta.add_actions(storage, uri, first))
            _, create_s = timed(lambda: delta.commit(uri, {}, delta.DeltaCommit(schema, ("dt",), actions, "b1", "t", 1)))
            second = write_files(root, count, count)
            more, stats2_s = timed(lambda: delta.add_actions(storage, uri, second))
            _, append_s = timed(lambda: delta.commit(uri, {}, delta.DeltaCommit(schema, ("dt",), more, "b2", "t", 2)))
            table, load_s = timed(lambda: DeltaTable(str(root)))
            _, files_s = timed(lambda: table.file_uris())
            assert len(table.file_uris()) == 2 * count
            for step, seconds in (("footer stats (new table)", stats_s), ("commit: create table", create_s),
                                  ("footer stats (append)", stats2_s), (f"commit: append to {count} files", append_s),
                                  ("open the table (log replay)", load_s), ("list live files", files_s)):
                print(f"{count:7d} {step:28s} {seconds:8.2f}")
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
