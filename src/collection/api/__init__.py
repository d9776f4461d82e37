"""The JSON API (/api/v1) and its shared dependencies."""
