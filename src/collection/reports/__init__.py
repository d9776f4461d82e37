"""The province's yearly report: points' own monthly figures, the report from the rollups, its
exports and frozen versions."""
