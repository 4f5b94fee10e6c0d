"""The lake under test, on the local disk or in an S3 bucket of the moto server (``pytest --lake-store s3``),
and a folder of it with the part of pathlib the tests use, through pyarrow's filesystems: the assertions
read what landed with a filesystem that is not lakeward's."""
from __future__ import annotations

import fnmatch
import os
import tempfile
from functools import cached_property
from pathlib import Path
from typing import IO

import pyarrow.fs as pafs


_COPIES = tempfile.TemporaryDirectory(prefix="lake-copies-")  # removed when the test run ends


def s3_options() -> dict[str, str]:
    """delta-rs storage options for the moto server the test's environment points at."""
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"], "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true"}


class LakeDir:
    """A file or folder at a local path, ``file://`` URI or ``s3://`` URI."""

    def __init__(self, where: str | Path | LakeDir):
        text = str(where).removeprefix("file://")
        self.is_s3 = text.startswith(("s3://", "s3a://"))
        self.path = text.split("://", 1)[1].rstrip("/") if self.is_s3 else text.rstrip("/") or "/"

    @cached_property
    def fs(self) -> pafs.FileSystem:
        if not self.is_s3:
            return pafs.LocalFileSystem()
        endpoint = os.environ["AWS_ENDPOINT_URL"]
        return pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], region="us-east-1",
                                 secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                                 endpoint_override=endpoint.split("://", 1)[1], scheme=endpoint.split("://")[0])

    def __str__(self) -> str:
        return f"s3://{self.path}" if self.is_s3 else self.path

    def __repr__(self) -> str:
        return f"LakeDir({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LakeDir) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: LakeDir) -> bool:
        return str(self) < str(other)

    def _at(self, path: str) -> LakeDir:
        child = LakeDir(f"s3://{path}" if self.is_s3 else path)
        if "fs" in self.__dict__:
            child.__dict__["fs"] = self.fs
        return child

    def __truediv__(self, part: str) -> LakeDir:
        return self._at(f"{self.path}/{str(part).strip('/')}")

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def stem(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def parent(self) -> LakeDir:
        return self._at(self.path.rsplit("/", 1)[0])

    def relative_to(self, root: LakeDir) -> str:
        if self.is_s3 != root.is_s3 or not (self.path + "/").startswith(root.path.rstrip("/") + "/"):
            raise ValueError(f"{self} is not under {root}")
        return self.path[len(root.path):].lstrip("/")

    def exists(self) -> bool:
        return self.fs.get_file_info(self.path).type != pafs.FileType.NotFound

    def size(self) -> int:
        return self.fs.get_file_info(self.path).size

    def _files(self, recursive: bool) -> list[LakeDir]:
        if self.fs.get_file_info(self.path).type != pafs.FileType.Directory:
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(self.path, recursive=recursive))
        return [self._at(i.path) for i in infos]

    def glob(self, pattern: str) -> list[LakeDir]:
        """Like Path.glob for patterns of one or more levels (``*.json``, ``day=*/*.parquet``)."""
        depth = pattern.count("/") + 1
        found = [f for f in self._files(recursive=depth > 1)
                 if f.relative_to(self).count("/") + 1 == depth and fnmatch.fnmatch(f.relative_to(self), pattern)]
        return sorted(found)

    def rglob(self, pattern: str) -> list[LakeDir]:
        return sorted(f for f in self._files(recursive=True) if fnmatch.fnmatch(f.name, pattern))

    def open(self) -> IO[bytes]:
        return self.fs.open_input_file(self.path)

    def read_bytes(self) -> bytes:
        with self.open() as f:
            return f.read()

    def read_text(self) -> str:
        return self.read_bytes().decode()

    def write_bytes(self, data: bytes) -> None:
        with self.fs.open_output_stream(self.path) as f:
            f.write(data)

    def write_text(self, text: str) -> None:
        self.write_bytes(text.encode())

    def local_copy(self) -> str:
        """A local path holding this file, or this folder's files at the same relative paths (for readers
        given local paths, such as DuckDB here)."""
        if not self.is_s3:
            return self.path
        target = Path(tempfile.mkdtemp(prefix="lake-copy-", dir=_COPIES.name)) / self.name
        files = [f for f in self._files(recursive=True) if f.fs.get_file_info(f.path).is_file] or [self]
        for f in files:
            copy = target / f.relative_to(self) if f != self else target
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(f.read_bytes())
        return str(target)

    def storage_options(self) -> dict[str, str] | None:
        return s3_options() if self.is_s3 else None
