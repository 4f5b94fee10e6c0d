"""What the committers share: the services a commit needs, the staging folder, and what a commit did."""
from __future__ import annotations

from dataclasses import dataclass

from catalog.glue import GlueCatalog
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.storage import Storage, join
from lakeward.tables.ledger import Ledger, LedgerState
from lakeward.tables.lock import TableLock


@dataclass
class CommitContext:
    aws: AwsContext
    storage: Storage
    glue: GlueCatalog
    ledger: Ledger
    state: LedgerState  # the ledger as this writer sees it under the lock; commits fold into it
    lock: TableLock | None = None  # fencing: a writer that lost its lock must not commit

    def fence(self) -> None:
        if self.lock is not None:
            self.lock.check()


@dataclass
class Outcome:
    replaced: list[str]  # partitions (k=v/...) or "the whole table" that the batch replaced
    files_removed: int = 0
    version: int | None = None  # Delta
    catalog_changed: bool = False  # whether the Glue table got a new version


def staging_uri(table_uri: str, batch_id: str) -> str:
    return join(table_uri, "_lakeward", "staging", batch_id)
