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

from lakeward.ingest.sources import SourceFile
from lakeward.runtime.storage import Storage, join


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

    def adopt(self, storage: Storage, staging_uri: str, relative: list[str]) -> None:
        """Move the rejected-row files the batch writer staged into this batch's ``rows/``."""
        storage.move_many([(join(staging_uri, r), join(self.location, "rows", r.rsplit("/", 1)[-1]))
                           for r in relative])

    def finish(self) -> None:
        if not self._files:
            return
        fs, path = self.storage.resolve(join(self.location, "files.jsonl"))
        with fs.open_output_stream(path) as out:
            out.write("".join(json.dumps(r) + "\n" for r in self._files).encode())
