"""Batch scoring: ``batch_predict`` scores a Parquet dataset larger than memory with a
registered model, batch by batch (locally on a pool of threads, or on Ray Data), and logs
the predictions as a new dataset version with its lineage. No logic here."""
