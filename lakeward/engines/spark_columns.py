"""Spark column helpers shared by the ingest and table code."""
from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F


def quoted(name: str) -> SparkColumn:
    """A top-level column by its exact raw name, whatever characters it holds."""
    return F.col("`" + name.replace("`", "``") + "`")
