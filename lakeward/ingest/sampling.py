"""The questions schema planning asks of the data (lakeward.ingest.planning.Sampler), answered by Spark:
whether records set several raw names that normalise alike (over all rows), and what type the content
of new text and epoch fields has (over the first rows of a part; all rows of a CSV part)."""
from __future__ import annotations

from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeward.engines.spark_columns import quoted
from lakeward.ingest.batch import RawPart
from lakeward.ingest.content_types import NULL_TOKENS, ContentType, infer_content_types


class SparkSampler:
    def __init__(self, parts: list[RawPart], type_sample_rows: int, tokens: tuple[str, ...] = NULL_TOKENS):
        self.parts = parts
        self.rows = type_sample_rows
        self.tokens = tokens

    def together(self, part: int, groups: dict[str, list[str]]) -> dict[str, int]:
        checks = [F.sum(F.when(sum((quoted(r).isNotNull().cast("int") for r in raws), F.lit(0)) > 1, 1)
                        .otherwise(0)).alias(f"c{i}") for i, raws in enumerate(groups.values())]
        row = self.parts[part].df.agg(*checks).collect()[0]
        return {target: row[f"c{i}"] or 0 for i, target in enumerate(groups)}

    def content_types(self, part: int, fields: list[T.StructField]) -> dict[str, ContentType]:
        # Every value of a text source is classified, as Spark's own CSV inference reads them all.
        text = self.parts[part].kind == "csv"
        return infer_content_types(self.parts[part].df, fields, None if text else self.rows, text, self.tokens)
