"""The process-wide settings, validated once and passed in: built from the environment (``LAKEWARD_*``),
then the options a front door was given (``--target-mb``, a Glue job parameter). An error names the
setting the way the user wrote it: ``LAKEWARD_TARGET_FILE_MB='0': ...`` or ``--target-mb 0: ...``.

Settings of one table (source, format, partitioning, write mode, hints) are not here: they travel in the
ingest request (lakeward.ingest.request).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lakeward.errors import SpecError

ENV_PREFIX = "LAKEWARD_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lake: str = Field("lake", description="where new tables are created when no spec or option says")
    home: str = Field(".lakeward", description="state of the embedded AWS emulator")
    aws: Literal["", "embedded", "env"] = Field("", description="force the embedded emulator or the environment's AWS")
    on_glue: bool = Field(False, description="set by the Glue job scripts inside a Glue job run")
    target_file_mb: float = Field(128.0, gt=0, description="target size of the Parquet files written")
    type_sample_rows: int = Field(10_000, ge=0, description="rows sampled to type string columns by content")
    pii_sample_rows: int = Field(10_000, gt=0, description="rows sampled to classify PII")
    pii_distinct_values: int = Field(1_000, gt=0, description="distinct values per field sampled for PII")
    lock_lease_s: float = Field(300.0, gt=0, description="a table lock without a heartbeat this long is broken")
    lock_wait_s: float = Field(600.0, ge=0, description="how long a writer waits for a table's lock")
    widen_rewrite_mb: float = Field(1024.0, ge=0, description="widen auto: the most data rewritten to widen a type")
    ledger_tail: int = Field(64, ge=1, description="batch records kept beside the ledger snapshot before compaction")
    shuffle_partitions: int = Field(8, gt=0, description="local Spark: spark.sql.shuffle.partitions")
    driver_memory: str = Field("2g", description="local Spark: spark.driver.memory")
    spark_master: str = Field("local[2]", description="local Spark: the master URL")
    query_engine: Literal["", "local", "athena"] = Field(
        "", description="lakeward query: local (DuckDB) or athena [default: athena with the environment's AWS, "
                        "local with the embedded emulator]")
    athena_workgroup: str = Field("primary", description="lakeward query --engine athena: the workgroup")
    athena_output: str = Field("", description="lakeward query --engine athena: s3:// output location "
                                               "[default: the workgroup's]")
    athena_timeout_s: float = Field(1800.0, gt=0, description="lakeward query --engine athena: longest wait")
    spark_s3a: bool = Field(False, description="point Glue's own Spark session at the command's AWS through S3A, "
                                               "as local sessions always are (the Glue Docker image against an "
                                               "emulator)")
    jar_cache: str = Field("", description="local Spark: the JVM parts ./dev.sh setup fetched "
                                           "[default: ~/.cache/lakeward/jars]")

    @property
    def spark_jars(self) -> list[str]:
        """The jars local Spark loads (Spark's Kafka source), when they were fetched."""
        from pathlib import Path

        folder = Path(self.jar_cache or Path.home() / ".cache/lakeward/jars") / "spark"
        return sorted(str(p) for p in folder.glob("*.jar")) if folder.is_dir() else []

    @property
    def target_bytes(self) -> int:
        return int(self.target_file_mb * 2**20)

    @property
    def widen_rewrite_bytes(self) -> int:
        return int(self.widen_rewrite_mb * 2**20)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **given: tuple[Any, str]) -> "Settings":
        """Settings from ``environ`` (default: this process's environment) with ``given`` on top: each a
        (value, how the user spelled the option) pair; a None value is not given."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if environ.get(key, "") != "":
                values[name], spelled[name] = environ[key], key
        for name, (value, option) in given.items():
            if name not in cls.model_fields:
                raise ValueError(f"unknown setting {name}")
            if value is not None:
                values[name], spelled[name] = value, option
        try:
            return cls(**values)
        except ValidationError as e:
            error = e.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else ""
            shown = spelled.get(name, name)
            separator = "=" if shown.startswith(ENV_PREFIX) else " "
            raise SpecError(f"{shown}{separator}{values.get(name)!r}: {error['msg']} "
                            f"({cls.model_fields[name].description})") from None

    def with_(self, **changes: Any) -> "Settings":
        return self.model_copy(update=changes)
