"""Glue streaming job scripts: stream.py (Kinesis, Kafka, landing folder)."""
