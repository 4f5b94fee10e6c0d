"""Quarantine: where records that cannot be written go, with the reason, per table and batch.

Layout: ``<lake>/_quarantine/<db>/<table>/batch_id=<id>/``
- ``rows/part-*.json``: one JSON object per rejected record: source_file, reason, raw (the record text
  or, for parsed records, the record as JSON), batch_id;
- ``files/<name>`` and ``files.jsonl``: whole files that could not be read at all (each counts as one
  quarantined record in the report).
"""
from __future__ import annotations

import json
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeward.readers import FILE_COL, RAW_COL, REASON_COL, spark_path
from lakeward.sources import SourceFile
from lakeward.storage import Storage, join


class Quarantine:
    def __init__(self, storage: Storage, table_quarantine_uri: str, batch_id: str):
        self.storage = storage
        self.batch_id = batch_id
        self.location = join(table_quarantine_uri, f"batch_id={batch_id}")
        self._files: list[dict[str, Any]] = []

    def add_file(self, source: SourceFile) -> None:
        target = join(self.location, "files", source.name)
        self.storage.copy(source.uri, target)
        self._files.append({"source_file": source.uri, "reason": source.problem, "copy": target,
                            "batch_id": self.batch_id})

    def write_rows(self, bad: DataFrame) -> None:
        (bad.select(F.col(FILE_COL).alias("source_file"), F.col(REASON_COL).alias("reason"),
                    F.col(RAW_COL).alias("raw"), F.lit(self.batch_id).alias("batch_id"))
         .coalesce(1).write.mode("append").json(spark_path(join(self.location, "rows"))))

    def finish(self) -> None:
        if not self._files:
            return
        fs, path = self.storage.resolve(join(self.location, "files.jsonl"))
        with fs.open_output_stream(path) as out:
            out.write("".join(json.dumps(r) + "\n" for r in self._files).encode())
