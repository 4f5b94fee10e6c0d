"""Find the raw files of a source and detect each one's format from its name and content."""
from __future__ import annotations

import bz2
import gzip
import csv
import io
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow.parquet as pq

from lakeward.ingest.type_attribution import Kinds, csv_kinds, json_kinds, parquet_kinds
from lakeward.runtime.storage import FileEntry, Storage

Format = Literal["jsonl", "json", "csv", "parquet"]
HEAD_BYTES = 64 * 1024
JSON_CHECK_BYTES = 16 * 1024 * 1024  # a JSON document is read this far to tell one document from several
DELIMITERS = [",", ";", "\t", "|"]
_COMPRESSION_BY_SUFFIX = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bzip2"}
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2"}


@dataclass(frozen=True)
class SourceFile:
    entry: FileEntry
    format: Format | None
    compression: str | None = None
    delimiter: str | None = None
    header: bool = True
    header_line: str | None = None
    multiline: bool = False  # CSV with quoted fields that span lines
    parquet_schema: str | None = None  # files with different Parquet schemas are read apart
    problem: str | None = None  # why the file cannot be read at all (it is then quarantined whole)
    kinds: Kinds = ()  # top-level field kinds in the file's first records (lakeward.type_attribution)

    @property
    def uri(self) -> str:
        return self.entry.uri

    @property
    def name(self) -> str:
        return self.entry.uri.rsplit("/", 1)[-1]


def _suffix_compression(name: str) -> str | None:
    lower = name.lower()
    return next((c for s, c in _COMPRESSION_BY_SUFFIX.items() if lower.endswith(s)), None)


def _decompress_head(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, HEAD_BYTES)
    return bz2.BZ2Decompressor().decompress(data, HEAD_BYTES)


def _incomplete_stream(storage: Storage, uri: str, compression: str) -> str | None:
    """Why a compressed file does not decompress to its end, or None. Spark's reader would fail the whole
    job on a truncated gzip, so every compressed file is read through once (streamed, on the driver, in
    the parallel sniffing threads)."""
    fs, path = storage.resolve(uri)
    try:
        with fs.open_input_stream(path, compression=None) as raw:
            reader: Any = gzip.GzipFile(fileobj=raw) if compression == "gzip" else bz2.BZ2File(raw)
            while reader.read(16 * 2**20):
                pass
    except EOFError:
        return f"truncated {compression} file: the compressed stream ends before its end marker"
    except (OSError, zlib.error, ValueError) as e:
        return f"corrupt {compression} stream: {e}"
    return None


def _looks_like_data(row: list[str]) -> bool:
    """A first row with a numeric field is data, not a header."""
    for field in row:
        value = field.strip()
        if not value:
            continue
        try:
            float(value)
            return True
        except ValueError:
            continue
    return False


def _json_layout(text: str, complete: bool) -> tuple[Format | None, str | None]:
    """JSON lines, one JSON document, or a problem. Spark reads only the first value of a multi-line
    document, so several documents in one file must not be read that way."""
    stripped = text.strip()
    try:
        _, end = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError:
        lines = [line for line in stripped.splitlines() if line.strip()]
        if not complete:
            lines = lines[:-1]  # the last line may be cut by the read limit
        for line in lines[:50]:
            try:
                json.loads(line)
                return "jsonl", None  # one value per line; the lines that do not parse are quarantined
            except json.JSONDecodeError:
                continue
        return ("json", None) if not complete or len(lines) <= 1 else ("jsonl", None)
    if not stripped[end:].strip():
        return ("json" if "\n" in stripped else "jsonl"), None
    if "\n" not in stripped[:end]:
        return "jsonl", None
    return None, ("several JSON documents one after another; write one per line (JSON lines) or wrap them "
                  "in an array")


def _sniff_text(entry: FileEntry, text: str, compression: str | None, lower_name: str, complete: bool) -> SourceFile:
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return SourceFile(entry, "jsonl", compression)  # blank: no records
    if stripped[0] in "[{":
        layout, problem = _json_layout(stripped, complete)
        kinds = json_kinds(stripped, layout, complete) if layout else ()
        return SourceFile(entry, layout, compression, problem=problem, kinds=kinds)
    lines = [line for line in stripped.splitlines()[:50] if line.strip()]
    sample = "\n".join(lines)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        if ".tsv" in lower_name or ".tab" in lower_name:
            delimiter = "\t"
        elif ".csv" in lower_name or ".txt" in lower_name:
            delimiter = ","
        else:
            return SourceFile(entry, None, compression,
                              problem="not JSON, CSV/TSV or Parquet: no consistent delimiter among , ; TAB |")
    rows = list(csv.reader(io.StringIO(stripped), delimiter=delimiter))
    whole = rows if complete else rows[:-1]  # the last row of a head may be cut short
    multiline = any("\n" in field or "\r" in field for row in whole for field in row)
    first = rows[0]
    header = not _looks_like_data(first)
    return SourceFile(entry, "csv", compression, delimiter, header, lines[0] if header else None, multiline,
                      kinds=csv_kinds(stripped, delimiter, header, complete))


def _first_line_is_a_value(head: bytes) -> bool:
    """A head whose first line is one whole JSON value followed by more lines is JSON lines: no need to
    read a large file further to tell it from one pretty-printed document."""
    first, newline, rest = head.lstrip().partition(b"\n")
    if not newline or not rest.strip():
        return False
    try:
        json.loads(first)
    except ValueError:
        return False
    return True


def sniff(storage: Storage, entry: FileEntry) -> SourceFile:
    """Detect a file's format. A file Spark could not read gets a ``problem`` instead of raising."""
    name = entry.uri.rsplit("/", 1)[-1]
    lower = name.lower()
    if entry.size == 0:
        return SourceFile(entry, "jsonl")
    try:
        head = storage.read_head(entry.uri, HEAD_BYTES)
    except OSError as e:
        return SourceFile(entry, None, problem=f"cannot read the file: {e}")
    by_suffix = _suffix_compression(lower)
    by_magic = next((c for magic, c in _MAGIC.items() if head.startswith(magic)), None)
    if by_magic and by_magic != by_suffix:
        return SourceFile(entry, None, by_magic, problem=(
            f"{by_magic} content but the name does not end in "
            f"{'.gz' if by_magic == 'gzip' else '.bz2'}; rename it so Spark can decompress it"))
    if by_suffix and not by_magic:
        return SourceFile(entry, None, problem=f"named as {by_suffix} but the content is not {by_suffix}")
    if head.startswith(b"PAR1") and not by_suffix:
        try:
            tail = storage.read_tail(entry.uri, 4)
        except OSError as e:
            return SourceFile(entry, None, problem=f"cannot read the Parquet footer: {e}")
        if tail != b"PAR1" or entry.size < 12:
            return SourceFile(entry, None, problem="truncated or corrupt Parquet file (no footer magic)")
        try:
            fs, path = storage.resolve(entry.uri)
            with fs.open_input_file(path) as handle:
                arrow_schema = pq.ParquetFile(handle).schema_arrow
        except (OSError, ValueError) as e:
            return SourceFile(entry, None, problem=f"corrupt Parquet footer: {e}")
        return SourceFile(entry, "parquet", parquet_schema=arrow_schema.to_string(show_schema_metadata=False),
                          kinds=parquet_kinds(arrow_schema))
    if by_suffix:
        if (broken := _incomplete_stream(storage, entry.uri, by_suffix)) is not None:
            return SourceFile(entry, None, by_suffix, problem=broken)
        try:
            head = _decompress_head(head, by_suffix)
        except (OSError, EOFError, zlib.error, ValueError) as e:
            return SourceFile(entry, None, by_suffix, problem=f"corrupt {by_suffix} stream: {e}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return SourceFile(entry, None, by_suffix, problem="UTF-16 text; convert it to UTF-8")
    if b"\x00" in head[:4096]:
        return SourceFile(entry, None, by_suffix, problem="binary content that is not Parquet")
    complete = entry.size <= HEAD_BYTES and not by_suffix
    if (not complete and not by_suffix and head.lstrip()[:1] in (b"{", b"[") and entry.size <= JSON_CHECK_BYTES
            and not _first_line_is_a_value(head)):
        head, complete = storage.read_head(entry.uri, JSON_CHECK_BYTES), True
    text = head.decode("utf-8", errors="replace")
    return _sniff_text(entry, text, by_suffix, lower, complete)


def sniff_all(storage: Storage, entries: list[FileEntry]) -> list[SourceFile]:
    """Detect the formats of many files; one small read per file (on S3, one GET each), in parallel."""
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda entry: sniff(storage, entry), entries))


def discover(storage: Storage, source: str) -> list[SourceFile]:
    """All non-hidden files under source, with their detected formats (sorted by path)."""
    return sniff_all(storage, storage.list_files(source))
