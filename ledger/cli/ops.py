"""Operations CLI commands: serve, relay and workers on NATS (issue 4)."""

from __future__ import annotations
