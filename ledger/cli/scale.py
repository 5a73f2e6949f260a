"""Scale CLI commands: migrate between stores (issue 5)."""

from __future__ import annotations
