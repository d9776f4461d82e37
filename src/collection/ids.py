"""Whole numbers that come from outside and go into the database: row ids, page numbers,
offsets and versions. Refused (422, with the usual message) when the database cannot hold them
(64-bit signed integers), instead of overflowing its driver and answering 500."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

MAX_DB_INT = 2**63 - 1

Id = Annotated[int, Ge(1), Le(MAX_DB_INT)]  # a row id or a page number
Count = Annotated[int, Ge(0), Le(MAX_DB_INT)]  # an offset, a version
