"""Waitlist bodies."""

from __future__ import annotations

import msgspec

from reservoir.lib.bounds import Quantity


class EntryIn(msgspec.Struct, forbid_unknown_fields=True):
    # who waits (an opaque id the storefront supplies, as on a hold): one entry per buyer
    # and SKU; the offer is a hold for this buyer
    buyer: str
    quantity: Quantity = 1
    channel: str | None = None
    # where the storefront wants to hear of the offer: carried in the `waitlist.offered`
    # event (the outbox and the Redis stream)
    callback: str | None = None


class EntryOut(msgspec.Struct, omit_defaults=True):
    id: str
    sku: str
    quantity: int
    buyer: str
    # waiting -> offered -> committed | fulfilled | expired (the offer lapsed) | declined
    # (the offer was released); or cancelled / refused (left without an offer)
    status: str
    created_at: str
    position: int | None = None  # while waiting: 1 is offered the next units
    channel: str | None = None
    callback: str | None = None
    reservation_id: str | None = None
    offered_at: str | None = None
    offer_expires_at: str | None = None
    ended_at: str | None = None


class WaitlistOut(msgspec.Struct):
    sku: str
    waiting: int  # entries waiting
    units: int  # units they ask for
    # the caller's own waiting entries (admin: every one), oldest first
    entries: list[EntryOut]
