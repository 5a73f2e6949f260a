"""The dead-letter records of the ``LEDGER_DLQ`` stream that the workers write themselves.

The stream also keeps the server's MAX_DELIVERIES advisories (an event that failed ``max_deliver`` times; the
advisory names the stream sequence). The records here say something the server cannot know: a worker may or may
not have acted on an event (it died, or the mail server stopped answering, mid-way) and will not act on it
again by itself. Subject ``ledger.dlq.<worker>``; ``Nats-Msg-Id`` ``uncertain:<worker>:<event id>``.
"""

from __future__ import annotations

import msgspec

from ledger.nats_api.subjects import DLQ_PREFIX


class UncertainRecord(msgspec.Struct, frozen=True):
    """A worker may or may not have acted on this event; an operator decides (look at the mail server's log
    for the message id, then leave it or resend)."""

    worker: str
    event_id: str
    event_type: str
    #: Sequence of the event's message in LEDGER_EVENTS (``ledger worker NAME --replay-from`` takes it).
    stream_seq: int
    #: Position of the event in the ledger's log.
    log_position: int | None
    reason: str

    @property
    def subject(self) -> str:
        """``ledger.dlq.<worker>``."""
        return f"{DLQ_PREFIX}{self.worker}"

    @property
    def message_id(self) -> str:
        """Deduplicates a record written twice."""
        return f"uncertain:{self.worker}:{self.event_id}"
