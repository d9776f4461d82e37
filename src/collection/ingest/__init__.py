"""Ingest: receiving files, the pipeline stages, the jobs that run them."""
