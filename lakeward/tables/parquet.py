"""Making a written batch part of a Parquet table registered in Glue.

``append`` moves the batch's files into each partition's current location and registers new partitions;
``overwrite`` and ``overwrite-partitions`` publish a new generation folder and swap the locations in Glue,
so a reader sees a partition either before or after, never half replaced (ADR 0009). An append may also
replace some partitions whole (``rewritten``: partitions rewritten in a wider type, ADR 0011). The swap plan is in
the ledger before the first Glue call, so recovery can complete a swap whose writer died.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from catalog.partition_projection import is_projected
from catalog.partition_spec import HIVE_NULL
from catalog.schema import CatalogTable, Partition, TableDefinition
from lakeward.runtime.storage import join
from lakeward.tables import DataFile
from lakeward.tables.catalog_sync import sync_catalog
from lakeward.tables.commit import CommitContext, Outcome, staging_uri
from lakeward.tables.ledger import BatchRecord

GENERATION_FOLDER = "_gen="  # hidden: readers of the location it replaces never list it


def _folder(f: DataFile) -> str:
    return f.relative.rsplit("/", 1)[0] if "/" in f.relative else ""


def _values(table: TableDefinition, f: DataFile) -> tuple[str, ...]:
    return tuple(HIVE_NULL if f.partition_values[k.name] is None else f.partition_values[k.name]  # type: ignore[misc]
                 for k in table.partition_keys)


def commit_parquet(ctx: CommitContext, table: TableDefinition, current: CatalogTable | None,
                   files: list[DataFile], record: BatchRecord, root: str,
                   rewritten: frozenset[tuple[str, ...]] = frozenset()) -> Outcome:
    """Make the batch's files part of the table; the replaced locations are removed later by vacuum.
    ``rewritten``: partitions (values) an append replaces whole."""
    replacing = record.mode in ("overwrite", "overwrite-partitions")
    staging = staging_uri(root, record.batch_id)
    folders = sorted({_folder(f) for f in files})
    values = {_folder(f): _values(table, f) for f in files}
    registered: dict[tuple[str, ...], str] = {}
    generation = join(root, GENERATION_FOLDER + record.batch_id)
    replaced = [f for f in folders if replacing or values[f] in rewritten]
    if replacing:
        location = {folder: join(generation, folder) if folder else generation for folder in folders}
    elif table.partition_keys:
        known = current is not None and not is_projected(table.parameters)
        registered = ctx.glue.partition_locations(table, [values[f] for f in folders]) if known else {}
        fresh_home = join(root, GENERATION_FOLDER + record.batch_id)  # a new partition whose folder was retired
        retired = ctx.state.retired
        location = {folder: registered.get(values[folder]) or
                    (join(fresh_home, folder) if join(root, folder) in retired else join(root, folder))
                    for folder in folders}
        location.update({folder: join(generation, folder) for folder in replaced})
    else:
        location = {"": current.definition.location if current else root}
    if not table.partition_keys:  # an existing table's location moves only with the swap
        table = replace(table, location=current.definition.location if current else location[""])
    ctx.fence()
    # The schema is widened before any file that needs it becomes visible.
    changed = sync_catalog(ctx.glue, table, current)
    targets = [(join(staging, f.relative), join(location[_folder(f)], f.relative.rsplit("/", 1)[-1])) for f in files]
    record.outputs = [t[len(root) + 1:] for _, t in targets]
    ctx.ledger.begin(record)
    ctx.storage.move_many(targets)
    outcome = Outcome([], catalog_changed=changed)
    fresh = [f for f in folders if values[f] not in registered and f not in replaced] \
        if not replacing and table.partition_keys and not is_projected(table.parameters) else []  # projected: Athena's
    if replaced:  # the batch's new partitions go with the swap, so recovery registers them too
        swap = swap_plan(ctx, table, current, record.mode if replacing else "overwrite-partitions",
                         {values[f]: location[f] for f in (*replaced, *fresh)}, location.get(""))
        record.swap = swap
        ctx.ledger.save(record)  # from here on, recovery completes the swap
        apply_swap(ctx, table, swap)
        record.replaced, record.replaced_at = swap["replaced"], time.time()
        outcome = Outcome(swap["described"], catalog_changed=True)
    elif fresh:
        ctx.glue.add_partitions(table, [Partition(values[f], location[f]) for f in fresh])
    ctx.ledger.commit(record, ctx.state)
    ctx.storage.delete_dir(staging)
    return outcome


def swap_plan(ctx: CommitContext, table: TableDefinition, current: CatalogTable | None, mode: str,
              new: dict[tuple[str, ...], str], data_location: str | None) -> dict[str, Any]:
    if not table.partition_keys:
        old = current.definition.location if current else None
        return {"table_location": data_location, "partitions": [], "drop": [],
                "replaced": [old] if old else [], "described": ["the whole table"]}
    if current is None:
        registered: dict[tuple[str, ...], str] = {}
    elif mode == "overwrite":  # every partition: those the batch lacks are removed
        registered = {p.values: p.location for p in ctx.glue.partitions(table.database, table.name)}
    else:  # only the batch's own partitions are looked up, 1,000 per call
        registered = ctx.glue.partition_locations(table, list(new))
    drop = [v for v in registered if v not in new] if mode == "overwrite" else []
    replaced = [registered[v] for v in new if v in registered] + [registered[v] for v in drop]
    names = [k.name for k in table.partition_keys]
    described = ["/".join(f"{n}={x}" for n, x in zip(names, v)) for v in sorted(new) if v in registered]
    described += ["/".join(f"{n}={x}" for n, x in zip(names, v)) + " (removed)" for v in sorted(drop)]
    return {"table_location": None, "partitions": [[list(v), loc] for v, loc in new.items()],
            "drop": [list(v) for v in drop], "replaced": replaced, "described": described}


def apply_swap(ctx: CommitContext, table: TableDefinition, swap: dict[str, Any]) -> None:
    """Point Glue at the new generation: the table's location in one UpdateTable, or each partition's in
    BatchCreate/UpdatePartition calls; in an overwrite, partitions the batch did not have are removed
    after. Repeatable, so recovery can finish a swap a dead writer began."""
    if swap["table_location"]:
        target = replace(table, location=swap["table_location"])
        sync_catalog(ctx.glue, target, ctx.glue.load_table(table.database, table.name))
        return
    ctx.glue.put_partitions(table, [Partition(tuple(v), loc) for v, loc in swap["partitions"]])
    ctx.glue.delete_partitions(table, [tuple(v) for v in swap["drop"]])
