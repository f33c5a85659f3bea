"""Bodies of `/v1/webhooks`."""

from __future__ import annotations

from datetime import datetime

import msgspec


class EndpointIn(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    events: list[str]
    secret: str | None = None  # whsec_…; absent: one is made (and shown once)


class EndpointPatch(msgspec.Struct, forbid_unknown_fields=True):
    url: str | None = None
    events: list[str] | None = None
    enabled: bool | None = None


class Endpoint(msgspec.Struct, omit_defaults=True):
    id: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = None
    failing_since: datetime | None = None
    # only in the answer that made or rotated it
    secret: str | None = None
    previous_secret_until: datetime | None = None


class EndpointPage(msgspec.Struct):
    webhooks: list[Endpoint]


class Message(msgspec.Struct, omit_defaults=True):
    id: str  # the webhook-id header
    event_type: str
    status: str  # pending | delivered | dead
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    ordering_key: str | None = None


class Attempt(msgspec.Struct, omit_defaults=True):
    message: str
    attempt: int
    at: datetime
    latency_ms: int | None = None
    status_code: int | None = None
    error: str | None = None
    response: str | None = None


class DeliveryLog(msgspec.Struct):
    messages: list[Message]
    attempts: list[Attempt]


class ReplayIn(msgspec.Struct, forbid_unknown_fields=True):
    message: str | None = None  # one message by its id
    since: datetime | None = None  # or every message made in [since, until)
    until: datetime | None = None


class Replayed(msgspec.Struct):
    replayed: int
