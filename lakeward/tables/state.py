"""A table as a batch finds it: its schema as the data records it (Glue for Parquet, the Delta log for
Delta), what Glue holds, and what the ledger says (settings, raw-name mapping, retired locations)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from deltalake import DeltaTable

from catalog.annotations import annotate
from catalog.names import recorded_raw_names
from catalog.parameters import EVOLUTION, PARTITION_SPEC
from catalog.schema import CatalogTable, Column, TableDefinition
from lakeward.tables import delta
from lakeward.tables.ledger import LedgerState


@dataclass
class TableState:
    columns: tuple[Column, ...] | None  # None: the table does not exist yet
    partition_keys: tuple[Column, ...]
    partition_spec: str | None
    parameters: dict[str, str]
    glue: CatalogTable | None
    evolution: str | None = None
    ledger: LedgerState = field(default_factory=LedgerState)

    @property
    def exists(self) -> bool:
        return self.columns is not None

    @property
    def types(self) -> dict[str, object]:
        return {c.name: c.type for c in (*(self.columns or ()), *self.partition_keys)}

    def known_names(self) -> dict[str, str]:
        """Raw name -> column: what the ledger recorded, and what each column's Parameters record."""
        return {**self.ledger.names, **{raw: c.name for c in (*(self.columns or ()), *self.partition_keys)
                                        for raw in recorded_raw_names(c.parameters)}}


def parquet_state(current: CatalogTable | None, ledger: LedgerState) -> TableState:
    glue = current.definition if current else None
    if glue is None:
        return TableState(None, (), None, {}, None, None, ledger)
    return TableState(glue.columns, glue.partition_keys, glue.parameters.get(PARTITION_SPEC), dict(glue.parameters),
                      current, glue.parameters.get(EVOLUTION), ledger)


def delta_state(current: CatalogTable | None, snapshot: DeltaTable | None, ledger: LedgerState) -> TableState:
    """The log has the schema; Glue has what lakeward recorded about each column; the ledger (which
    delta-rs cannot replace with table properties of ours) has the settings."""
    glue = current.definition if current else None
    parameters = dict(glue.parameters) if glue else {}
    log = delta.log_schema(snapshot)
    if log is None:
        return TableState(None, (), None, parameters, current, None, ledger)
    if glue is not None:
        log = delta.annotated(log, (*glue.columns, *glue.partition_keys))
    spec = (ledger.partition_spec or parameters.get(PARTITION_SPEC) or ",".join(k.name for k in log.partition_keys))
    mode = ledger.evolution or parameters.get(EVOLUTION)
    state = TableState(log.columns, log.partition_keys, spec, parameters, current, mode, ledger)
    names = [state.ledger.names]
    return replace(state, columns=annotate(state.columns or (), names, {}),
                   partition_keys=annotate(state.partition_keys, names, {}))


def catalog_view(state: TableState, database: str, name: str, table_uri: str) -> TableDefinition:
    """A Delta table's Glue entry as its log says it should be (an earlier run may have failed between
    the commit and the catalog update)."""
    parameters = {**state.parameters, PARTITION_SPEC: state.partition_spec or "",
                  EVOLUTION: state.evolution or "evolve"}
    return TableDefinition(database, name, "delta", table_uri, state.columns or (), state.partition_keys, parameters)
