"""The project's one error hierarchy.

Every error names what to fix (the file, field, setting or table). It has no dependencies so that the
engine-free packages (catalog/, lakeformation/) can share it.
"""


class LakewardError(Exception):
    """Base class of every error lakeward raises on purpose."""


class SpecError(LakewardError):
    """A job parameter, CLI option or spec entry is invalid."""


class SourceError(LakewardError):
    """A raw source cannot be listed or read at all."""


class CatalogError(LakewardError):
    """The Glue Data Catalog refused or failed a request."""


class CatalogAccessDenied(CatalogError):
    """The caller lacks a permission on a catalog resource."""


class ConcurrentModificationError(CatalogError):
    """Another writer changed the table between our read and our write."""


class ConcurrentWriteError(LakewardError):
    """Another writer holds the table's lock."""


class SchemaEvolutionError(LakewardError):
    """A batch's schema cannot be reconciled with the table's schema."""


class TableFormatError(LakewardError):
    """A table's files or log are not what lakeward can write or read."""


class QueryError(LakewardError):
    """A query cannot be parsed, resolved or executed."""


class EmulatorError(LakewardError):
    """The embedded AWS emulator could not be started or used."""


class GovernanceError(LakewardError):
    """Lake Formation refused or failed a tag or grant request, or a governance spec cannot be applied."""


class AccessDenied(QueryError):
    """A principal's Lake Formation grants do not cover what a query reads."""
