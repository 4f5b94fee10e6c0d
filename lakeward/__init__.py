"""lakeward: governed ingestion for AWS data lakes."""

__version__ = "0.1.0"
