"""The external layer: published views of signed-off partitions, without PII."""
