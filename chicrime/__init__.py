"""chicrime: a local, always-fresh copy of Chicago's crime records as a Parquet lake."""

__version__ = "0.1.0"
