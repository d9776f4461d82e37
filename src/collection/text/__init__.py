"""Vietnamese text handling shared by ingest and search."""
