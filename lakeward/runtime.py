"""The Spark session: Glue's when running on Glue, a local one otherwise. Created on first use only."""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Any

SESSION_CONF = {
    # Raw data may carry names equal but for case; they must stay addressable until normalised.
    "spark.sql.caseSensitive": "true",
    "spark.sql.session.timeZone": "UTC",
    # Delta and Athena read microsecond timestamps; INT96 is deprecated.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.compression.codec": "snappy",
}
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": os.environ.get("LAKEWARD_SHUFFLE_PARTITIONS", "8"),
    "spark.driver.memory": os.environ.get("LAKEWARD_DRIVER_MEMORY", "2g"),
    "spark.sql.adaptive.enabled": "true",
}


def on_glue() -> bool:
    """True inside a Glue job run. The awsglue Python package imports anywhere (it is on PyPI), so its
    presence proves nothing; Glue's own environment does. Job scripts also know from --JOB_RUN_ID."""
    return bool(os.environ.get("LAKEWARD_ON_GLUE")) or os.path.isdir("/opt/amazon/lib/python3.11/site-packages/awsglue")


@lru_cache(maxsize=1)
def glue_context() -> Any:
    """Glue's GlueContext; only callable inside a Glue job run."""
    from awsglue.context import GlueContext
    from pyspark.context import SparkContext

    return GlueContext(SparkContext.getOrCreate())


@lru_cache(maxsize=1)
def spark_session() -> Any:
    """One SparkSession per process: Glue's inside a Glue job run, a local one otherwise."""
    from pyspark.sql import SparkSession

    if on_glue():
        session = glue_context().spark_session
    else:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # tasks import lakeward and pyarrow
        builder = SparkSession.builder.appName("lakeward").master(os.environ.get("LAKEWARD_SPARK_MASTER", "local[2]"))
        for key, value in LOCAL_CONF.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session
