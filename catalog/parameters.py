"""The Glue table and column Parameters lakeward records, beside those of catalog.names (raw names),
catalog.definitions (format) and lakeformation.classifier (PII)."""

PARTITION_SPEC = "lakeward.partition_spec"  # the table's partition spec, e.g. dt=date(order_ts),country
EVOLUTION = "lakeward.evolution"  # the table's evolution mode
ROOT = "lakeward.root"  # where the ledger, lock and staging live (a Parquet table's data may move)
FIRST_SEEN = "lakeward.first_seen"  # column: when it was first seen
SOURCE = "lakeward.source"  # column: the source it was first seen in
PARSED_FROM = "lakeward.parsed_from"  # column: the format its values were typed from, e.g. string (ISO-8601 date)
