"""Batches whose writer died: completed when their commit went through, rolled back otherwise. Runs
under the table lock, so every pending ledger record belongs to a writer that is gone."""
from __future__ import annotations

import time

from lakeward.runtime.storage import join
from lakeward.tables import delta
from lakeward.tables.commit import CommitContext, staging_uri
from lakeward.tables.parquet import apply_swap


def recover(ctx: CommitContext, table_uri: str) -> list[str]:
    """Complete or roll back every pending batch of ``ctx.state``; returns what was done, for the report."""
    done = []
    snapshot = None
    for record in list(ctx.state.pending):
        batch_id = record.batch_id
        if record.delta_txn is not None:
            snapshot = snapshot or delta.open_table(table_uri, ctx.aws.storage_options())
            applied = snapshot.transaction_version(delta.APP_ID) if snapshot is not None else None
            if applied is not None and applied >= record.delta_txn:
                ctx.ledger.commit(record, ctx.state)
                done.append(f"batch {batch_id}: found in the Delta log, ledger completed")
                continue
        if record.swap is not None and record.table:
            found = ctx.glue.load_table(*record.table)
            if found is not None:
                apply_swap(ctx, found.definition, record.swap)
                record.replaced, record.replaced_at = record.swap["replaced"], time.time()
                ctx.ledger.commit(record, ctx.state)
                done.append(f"batch {batch_id}: its files were published; the location swap was completed")
                continue
        ctx.storage.delete_many([join(table_uri, rel) for rel in record.outputs])
        ctx.storage.delete_dir(staging_uri(table_uri, batch_id))
        if record.quarantine:
            ctx.storage.delete_dir(record.quarantine)
        ctx.ledger.remove(batch_id)
        ctx.state.pending.remove(record)
        done.append(f"batch {batch_id}: interrupted before commit, rolled back ({len(record.outputs)} files)")
    return done
