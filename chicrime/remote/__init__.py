"""The lake beyond one machine: an ingester publishes each version to an S3-compatible store
(`LAKE_URL`), web hosts follow it into their own DATA_DIR."""
