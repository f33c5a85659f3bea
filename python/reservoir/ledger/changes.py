"""What a request adds to the ledger transaction besides the engine's own log rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class NewReservation:
    """The parts of a new reservation the engine does not keep."""

    created_at_ms: int
    owner: str
    channel: str | None = None
    reference: str | None = None
    buyer: str | None = None


@dataclass(frozen=True, slots=True)
class WaitlistJoin:
    """The parts of a new waitlist entry the engine does not keep."""

    owner: str
    callback: str | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The first answer to a write sent with an `Idempotency-Key`, stored with its effect."""

    owner: str
    key: str
    request_hash: str
    status_code: int
    body: bytes


@dataclass(frozen=True, slots=True)
class ChangeMeta:
    """Who made a logged change and why; attached to the change's LSN."""

    actor: str
    reference_type: str | None = None
    reference_id: str | None = None
    # an unlotted receipt's expiry date (a lot's travels with the engine's rows)
    expires_on: date | None = None
    reservation: NewReservation | None = None
    waitlist: WaitlistJoin | None = None
    commit_reference: str | None = None
    # a line's note (a damaged receipt's "box crushed"), stored with its ledger entries
    note: str | None = None
    idempotency: IdempotencyRecord | None = None


SYSTEM_ACTOR = "system"
