"""Bounds that query parameters share: every integer the stores keep is a signed 64-bit one,
so a larger value is refused at the edge (400) instead of overflowing the database driver."""

from __future__ import annotations

MAX_INT64 = 2**63 - 1
