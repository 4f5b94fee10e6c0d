"""The Spark session: Glue's when running on Glue, a local one otherwise. Created on first use only."""
from __future__ import annotations

import os
import sys
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lakeward.runtime.settings import Settings

if TYPE_CHECKING:
    from lakeward.runtime.aws import AwsContext

GLUE_PYTHON_LIBS = "/opt/amazon/lib/python3.11/site-packages/awsglue"

SESSION_CONF = {
    # Raw data may carry names equal but for case; they must stay addressable until normalised.
    "spark.sql.caseSensitive": "true",
    "spark.sql.session.timeZone": "UTC",
    # Delta and Athena read microsecond timestamps; INT96 is deprecated.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.compression.codec": "snappy",
}


# What Glue 5.1 sets for a job run with --datalake-formats delta: delta-spark 3.3.2 serves Delta SQL.
GLUE_DELTA_CONF = {"spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
                   "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog"}


def local_conf(settings: Settings) -> dict[str, str]:
    conf = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
            "spark.driver.memory": settings.driver_memory, "spark.sql.adaptive.enabled": "true"}
    jars = settings.spark_jars
    if jars:
        conf["spark.jars"] = ",".join(jars)
    if any(os.path.basename(jar).startswith("delta-spark_") for jar in jars):
        conf |= GLUE_DELTA_CONF
    return conf


def on_glue(settings: Settings) -> bool:
    """True inside a Glue job run. The awsglue Python package imports anywhere (it is on PyPI), so its
    presence proves nothing; Glue's own environment does. Job scripts also know from --JOB_RUN_ID."""
    return settings.on_glue or os.path.isdir(GLUE_PYTHON_LIBS)


@lru_cache(maxsize=1)
def glue_context() -> Any:
    """Glue's GlueContext; only callable inside a Glue job run."""
    from awsglue.context import GlueContext
    from pyspark.context import SparkContext

    return GlueContext(SparkContext.getOrCreate())


_LOCK = threading.Lock()
_SESSION: list[Any] = []


def start_spark(settings: Settings) -> None:
    """Start the session in the background (the JVM takes seconds to start), so a command can meanwhile
    start the AWS emulator or read its spec."""
    threading.Thread(target=spark_session, args=(settings,), daemon=True).start()


def spark_session(settings: Settings | None = None, aws: AwsContext | None = None) -> Any:
    """One SparkSession per process: Glue's inside a Glue job run, a local one otherwise (the first call's
    settings make it). A local session reaches ``s3://`` through S3A at ``aws``'s endpoint; so does Glue's
    own session when ``settings.spark_s3a`` says so (the Glue Docker image against an emulator)."""
    settings = settings or Settings.load()
    with _LOCK:
        if not _SESSION:
            _SESSION.append(_new_session(settings))
        session = _SESSION[0]
        if aws is not None and (settings.spark_s3a or not on_glue(settings)):
            from lakeward.runtime.s3a import point_s3a, s3a_conf

            point_s3a(session, s3a_conf(aws))
        return session


def _new_session(settings: Settings) -> Any:
    from pyspark.sql import SparkSession

    if on_glue(settings):
        session = glue_context().spark_session
    else:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # tasks import lakeward and pyarrow
        builder = SparkSession.builder.appName("lakeward").master(settings.spark_master)
        for key, value in local_conf(settings).items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session
