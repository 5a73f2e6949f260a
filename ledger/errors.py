"""Typed errors of the ledger.

Every refusal names a machine-readable ``code`` and, where it concerns one input, the ``field``: the CLI turns
them into exit code 2 (bad input) or 1 (other failures), the NATS service into ``{"error": {...}}`` replies.
Nothing is written when one is raised.
"""

from __future__ import annotations

from ledger.cards import displayable


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    code = "ledger_error"
    #: Exit status of the CLI for this kind of error.
    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        message = displayable(message)  # it echoes input: never a card number or a terminal escape
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str | None]:
        """The wire form: ``{"code", "field", "message"}``."""
        return {"code": self.code, "field": self.field, "message": self.message}


class ValidationError(LedgerError):
    """The input is malformed: wrong type, bad amount, unknown currency, missing field."""

    code = "invalid"
    exit_code = 2


class NotFound(LedgerError):
    """The input names an account, invoice, payment ... that does not exist."""

    code = "not_found"
    exit_code = 2


class Conflict(LedgerError):
    """The command contradicts recorded history: a duplicate id with another body, a wrong state."""

    code = "conflict"
    exit_code = 2


class PolicyViolation(LedgerError):
    """A business rule refuses the command (exact amount due, autopay needs a method, ...)."""

    code = "policy_violation"
    exit_code = 2


class Expired(LedgerError):
    """The thing acted on has expired (an invitation after 72 h, an authorization after 29 days)."""

    code = "expired"
    exit_code = 2


class Forbidden(LedgerError):
    """The actor may not ask for this (a customer issuing themselves a credit): nothing is written."""

    code = "actor_not_allowed"
    exit_code = 2


class GatewayUnavailable(LedgerError):
    """The payment gateway could not be reached; nothing was charged or recorded."""

    code = "gateway_unavailable"
    exit_code = 1


class RecordingFailed(LedgerError):
    """The gateway acted for a command (a charge, a hold, a refund) but recording it failed (a full disk, the
    store unreachable): the command must be run again, with the same idempotency key, to record it."""

    code = "gateway_acted_not_recorded"
    exit_code = 1


class ConcurrencyExhausted(LedgerError):
    """Optimistic-concurrency retries ran out; nothing from this command was written."""

    code = "concurrency_exhausted"
    exit_code = 1


class DeadlineExceeded(LedgerError):
    """The request's deadline passed before the command was decided: it was not executed (nothing written, the
    gateway not asked); the caller may send it again with the same key."""

    code = "deadline_exceeded"
    exit_code = 1


class Overloaded(LedgerError):
    """The service's queue of commands waiting to be decided is full: the command was not executed; try again
    after ``retry_after`` seconds."""

    code = "overloaded"
    exit_code = 1

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, str | None]:
        """The wire form, with the retry-after hint (seconds, as a decimal string)."""
        return {**super().to_dict(), "retry_after": f"{self.retry_after:.3f}"}
