"""Driver-side file operations on the lake and raw zone, local or S3, through pyarrow.fs.

Only metadata-sized work happens here (listing, sniffing the head of a file, moving published files,
small JSON records); table data is always read and written by Spark.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow.fs as pafs

from lakeward.errors import SourceError

_PARALLEL = 16


@dataclass(frozen=True)
class FileEntry:
    uri: str
    size: int
    mtime_ns: int
    etag: str | None = None  # the content's identity: S3's ETag, or ``sha256:<hex>`` of a local file


def to_uri(path: str) -> str:
    """file:// + the absolute local path (literal, not percent-encoded), or s3://bucket/key."""
    if path.startswith("s3://"):
        return path.rstrip("/")
    if path.startswith("s3a://"):
        return "s3://" + path[len("s3a://"):].rstrip("/")
    if path.startswith("file://"):
        path = path[len("file://"):]
    return "file://" + str(Path(path).expanduser().resolve())


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts)])


def is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


class Storage:
    """A filesystem able to reach both local and s3:// URIs."""

    def __init__(self, s3_options: dict[str, Any] | None = None, s3_client: Any = None):
        self._local = pafs.LocalFileSystem()
        self._s3_options = s3_options or {}
        self._s3: pafs.S3FileSystem | None = None
        self._s3_client = s3_client  # boto3, for what pyarrow cannot do (conditional puts)

    @classmethod
    def for_aws(cls, aws: Any) -> "Storage":
        opts = aws.storage_options()
        s3: dict[str, Any] = {"region": opts.get("AWS_REGION")}
        if "AWS_ACCESS_KEY_ID" in opts:
            s3.update(access_key=opts["AWS_ACCESS_KEY_ID"], secret_key=opts["AWS_SECRET_ACCESS_KEY"],
                      session_token=opts.get("AWS_SESSION_TOKEN"))
        if "AWS_ENDPOINT_URL" in opts:
            endpoint = urlparse(opts["AWS_ENDPOINT_URL"])
            s3.update(endpoint_override=endpoint.netloc, scheme=endpoint.scheme or "https")
        return cls(s3, aws.client("s3"))

    @property
    def s3_options(self) -> dict[str, Any]:
        """What another process (a Spark task) needs to reach the same S3 endpoint."""
        return dict(self._s3_options)

    def resolve(self, uri: str) -> tuple[pafs.FileSystem, str]:
        if uri.startswith("s3://"):
            if self._s3 is None:
                self._s3 = pafs.S3FileSystem(**{k: v for k, v in self._s3_options.items() if v is not None})
            return self._s3, uri[len("s3://"):]
        return self._local, uri[len("file://"):] if uri.startswith("file://") else uri

    def _uri(self, fs: pafs.FileSystem, path: str) -> str:
        return f"s3://{path}" if isinstance(fs, pafs.S3FileSystem) else f"file://{path}"

    def info(self, uri: str) -> pafs.FileInfo:
        fs, path = self.resolve(uri)
        return fs.get_file_info(path)

    def exists(self, uri: str) -> bool:
        return self.info(uri).type != pafs.FileType.NotFound

    def list_files(self, uri: str, skip_hidden: bool = True) -> list[FileEntry]:
        """Every file under uri (or uri itself when it is a file), sorted by path; S3 entries carry their ETag."""
        fs, path = self.resolve(uri)
        if isinstance(fs, pafs.S3FileSystem) and self._s3_client is not None:
            return self._list_s3(path, skip_hidden)
        try:
            info = fs.get_file_info(path)
            if info.type == pafs.FileType.File:
                infos = [info]
            elif info.type == pafs.FileType.NotFound:
                return []
            else:
                infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
        except OSError as e:
            raise SourceError(f"cannot list {uri}: {e}") from e
        base_len = len(path.rstrip("/")) + 1
        entries = []
        for i in infos:
            if i.type != pafs.FileType.File:
                continue
            relative = i.path[base_len:] if len(i.path) > base_len else i.base_name
            if skip_hidden and any(is_hidden(part) for part in relative.split("/")):
                continue
            entries.append(FileEntry(self._uri(fs, i.path), i.size or 0, i.mtime_ns or 0))
        return sorted(entries, key=lambda e: e.uri)

    def _list_s3(self, path: str, skip_hidden: bool) -> list[FileEntry]:
        """pyarrow's S3 listing has no ETag; the API's has (a copy or a replication keeps it)."""
        bucket, _, key = path.rstrip("/").partition("/")
        try:
            head = self._s3_client.head_object(Bucket=bucket, Key=key) if key else None
        except self._s3_client.exceptions.ClientError:
            head = None
        if head is not None:
            return [FileEntry(f"s3://{path.rstrip('/')}", head["ContentLength"],
                              int(head["LastModified"].timestamp() * 1e9), head["ETag"].strip('"'))]
        prefix = f"{key}/" if key else ""
        entries = []
        try:
            for page in self._s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    relative = obj["Key"][len(prefix):]
                    if not relative or obj["Key"].endswith("/"):
                        continue
                    if skip_hidden and any(is_hidden(part) for part in relative.split("/")):
                        continue
                    entries.append(FileEntry(f"s3://{bucket}/{obj['Key']}", obj["Size"],
                                             int(obj["LastModified"].timestamp() * 1e9), obj["ETag"].strip('"')))
        except self._s3_client.exceptions.ClientError as e:
            raise SourceError(f"cannot list s3://{path}: {e}") from e
        return sorted(entries, key=lambda e: e.uri)

    def with_identity(self, entries: list[FileEntry]) -> list[FileEntry]:
        """The entries with their content identity: S3's ETag as listed, a SHA-256 of a local file's bytes
        (read in parallel threads; hashing releases the GIL)."""
        def identify(entry: FileEntry) -> FileEntry:
            if entry.etag is not None or not entry.uri.startswith("file://"):
                return entry
            try:
                with open(entry.uri[len("file://"):], "rb") as f:
                    return dataclasses.replace(entry, etag="sha256:" + hashlib.file_digest(f, "sha256").hexdigest())
            except OSError:
                return entry  # gone or unreadable: the read reports it
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(identify, entries))

    def read_head(self, uri: str, length: int) -> bytes:
        fs, path = self.resolve(uri)
        with fs.open_input_file(path) as f:
            return f.read(length)

    def read_tail(self, uri: str, length: int) -> bytes:
        fs, path = self.resolve(uri)
        with fs.open_input_file(path) as f:
            size = f.size()
            f.seek(max(0, size - length))
            return f.read()

    def read_json(self, uri: str) -> Any:
        fs, path = self.resolve(uri)
        with fs.open_input_stream(path) as f:
            return json.loads(f.read())

    def write_json(self, uri: str, value: Any) -> None:
        self.write_bytes(uri, json.dumps(value, indent=1, sort_keys=True).encode())

    def create_exclusive(self, uri: str, data: bytes) -> bool:
        """Create uri with data only if it does not exist; False if it does."""
        fs, path = self.resolve(uri)
        if isinstance(fs, pafs.LocalFileSystem):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return True
        bucket, _, key = path.partition("/")
        try:
            self._s3_client.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
        except self._s3_client.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write atomically where the filesystem allows (local: rename; S3: single PUT)."""
        fs, path = self.resolve(uri)
        if isinstance(fs, pafs.LocalFileSystem):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.tmp{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            with fs.open_output_stream(path) as f:
                f.write(data)

    def copy(self, src: str, dst: str) -> None:
        fs, src_path = self.resolve(src)
        _, dst_path = self.resolve(dst)
        if isinstance(fs, pafs.LocalFileSystem):
            os.makedirs(os.path.dirname(dst_path), exist_ok=True)
        fs.copy_file(src_path, dst_path)

    def move_many(self, pairs: list[tuple[str, str]]) -> None:
        """Move files (a rename locally; a server-side copy and delete on S3), in parallel."""
        def move(pair: tuple[str, str]) -> None:
            fs, src_path = self.resolve(pair[0])
            _, dst_path = self.resolve(pair[1])
            if isinstance(fs, pafs.LocalFileSystem):
                os.makedirs(os.path.dirname(dst_path), exist_ok=True)
                os.replace(src_path, dst_path)
            else:
                fs.move(src_path, dst_path)
        with ThreadPoolExecutor(_PARALLEL) as pool:
            list(pool.map(move, pairs))

    def delete_many(self, uris: list[str]) -> None:
        def delete(uri: str) -> None:
            fs, path = self.resolve(uri)
            try:
                fs.delete_file(path)
            except FileNotFoundError:
                pass
        with ThreadPoolExecutor(_PARALLEL) as pool:
            list(pool.map(delete, uris))

    def delete_dir(self, uri: str) -> None:
        fs, path = self.resolve(uri)
        if fs.get_file_info(path).type == pafs.FileType.Directory:
            fs.delete_dir(path)
