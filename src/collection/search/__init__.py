"""Search: the Meilisearch adapter (meili.py), index settings from the top-level search/ folder, and
the documents built from the database (documents.py). The index is a cache: `reindex` rebuilds it."""
