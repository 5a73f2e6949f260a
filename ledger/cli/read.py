"""Read-side CLI commands: projections, dashboard, replay and audit (issue 3)."""

from __future__ import annotations
