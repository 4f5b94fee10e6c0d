"""The columns that travel with every row from the read to the write, and the path forms Spark uses.

Raw data cannot collide with the ``__lakeward_*`` names: raw columns are addressed by exact name and
these names are refused in raw data. The reason and raw-record columns are added after projection,
beside normalised names (which never start with an underscore). No Spark import here.
"""
from __future__ import annotations

from urllib.parse import unquote, urlparse

FILE_COL = "__lakeward_file"  # the source a row came from: a file path as Spark gives it, or a stream's label
CORRUPT_COL = "__lakeward_corrupt"  # the raw text of a record the reader could not parse
SIZE_COL = "__lakeward_size"  # the size of the source file Spark read (NULL for other sources)
MTIME_COL = "__lakeward_mtime_us"  # its modification time
PROBLEM_COL = "__lakeward_problem"  # optional: why a record could not be read (a stream's poison message)
LABEL_COL = "__lakeward_label"  # optional in a caller's frame: each row's source label (a stream's partition)
BOOKKEEPING = (FILE_COL, CORRUPT_COL, SIZE_COL, MTIME_COL, PROBLEM_COL)
REASON_COL = "_lw_reason"  # why a row is quarantined (NULL: written)
RAW_COL = "_lw_raw"  # the quarantined record as text
NULLED_COL = "_lw_nulled"  # the columns whose missing-value token (NA, NULL, ...) became NULL, comma separated
_GLOB_CHARS = "\\[]{}*?"


def spark_path(uri: str) -> str:
    """A path Spark resolves to exactly this file: glob characters escaped."""
    return "".join("\\" + c if c in _GLOB_CHARS else c for c in uri)


def source_uri(path: str) -> str:
    """Our URI of a row's source: a file path reported by Spark (_metadata.file_path is percent-encoded)
    becomes file:// or s3:// with the literal path; another source's label is kept as it is."""
    parsed = urlparse(path)
    if parsed.scheme in ("", "file"):
        return "file://" + unquote(parsed.path)
    if parsed.scheme in ("s3", "s3a", "s3n"):
        return f"s3://{parsed.netloc}{unquote(parsed.path)}"
    return path
