"""Glue streaming jobs: not built yet."""
