"""The eventsourcing Application that stores Accounts and unidentified payments."""

from __future__ import annotations

import time
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import InternalError, Mapper

from ledger.aggregates import Account, UnidentifiedPayment
from ledger.config import Settings
from ledger.errors import NotFound
from ledger.store.mapper import MsgspecMapper, StaleSnapshot


class LedgerStore(Application[UUID]):
    """Event store of the ledger; its notification log is the one ordered history."""

    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Account: 100}
    snapshotting_projectors: ClassVar[dict[type[Any], Any]] = {Account: Account.projector}

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        merged = {**settings.eventsourcing_env(), **(env or {})}
        type(self).snapshotting_intervals = {Account: settings.snapshot_interval}
        for attempt in range(8):
            try:
                super().__init__(env=merged)
                return
            except InternalError as error:  # two instances creating the PostgreSQL tables at the same moment
                if "concurrently" not in str(error) or attempt == 7:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.factory.transcoder(), mapper_class=MsgspecMapper)

    def account(self, aggregate_id: UUID, version: int | None = None) -> Account:
        """Load an Account (from its latest snapshot plus later events), or raise NotFound."""
        try:
            found: Account | None = self.repository.get(aggregate_id, version=version,
                                                         projector_func=Account.projector)
        except AggregateNotFoundError:
            raise NotFound("no such account", field="account") from None
        except StaleSnapshot:
            found = Account.projector(None, self.events.get(aggregate_id, lte=version))
            if found is None:
                raise NotFound("no such account", field="account") from None
        assert found is not None
        return found

    def unidentified(self, aggregate_id: UUID) -> UnidentifiedPayment:
        """Load an unidentified payment, or raise NotFound."""
        try:
            found: UnidentifiedPayment = self.repository.get(aggregate_id,
                                                             projector_func=UnidentifiedPayment.projector)
        except AggregateNotFoundError:
            raise NotFound("no such unidentified payment", field="payment_id") from None
        return found
