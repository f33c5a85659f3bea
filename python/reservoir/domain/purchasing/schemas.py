"""Bodies of suppliers, purchase orders and their receipts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec

from reservoir.lib.bounds import Quantity


class SupplierIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    email: str | None = None


class Supplier(msgspec.Struct, omit_defaults=True):
    code: str
    created_at: datetime
    updated_at: datetime
    name: str | None = None
    email: str | None = None


class OrderLineIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: Quantity
    unit_cost: Decimal | None = None  # at least 0


class PurchaseOrderIn(msgspec.Struct, forbid_unknown_fields=True):
    supplier: str
    warehouse: str
    lines: list[OrderLineIn]
    expected_on: date | None = None
    reference: str | None = None


class OrderLine(msgspec.Struct, omit_defaults=True):
    line_no: int
    sku: str
    ordered: int
    received: int  # accepted + rejected
    accepted: int  # good units, into stock
    rejected: int  # damaged units, into the warehouse's quarantine
    outstanding: int  # ordered - received, while the order is open (else 0)
    unit_cost: Decimal | None = None


class PurchaseOrder(msgspec.Struct, omit_defaults=True):
    id: str
    supplier: str
    warehouse: str
    # open -> partially_received -> received; or closed (short-closed) | cancelled
    status: str
    lines: list[OrderLine]
    created_at: datetime
    created_by: str
    expected_on: date | None = None
    reference: str | None = None
    ended_at: datetime | None = None
    ended_reason: str | None = None


class PurchaseOrderPage(msgspec.Struct):
    purchase_orders: list[PurchaseOrder]


class OrderReceiptLineIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: Quantity
    condition: Literal["good", "damaged"] = "good"
    lot: str | None = None
    expires_on: date | None = None
    note: str | None = None


class OrderReceiptIn(msgspec.Struct, forbid_unknown_fields=True):
    location: str
    lines: list[OrderReceiptLineIn]
    reference: str | None = None


class ReceivedLine(msgspec.Struct, omit_defaults=True):
    sku: str
    quantity: int
    # accepted: into stock at the receipt's location; rejected: damaged, into quarantine;
    # wrong_item: not on the order, into quarantine (a discrepancy)
    outcome: str
    location: str
    transaction_id: str
    lot: str | None = None


class OrderReceiptOut(msgspec.Struct):
    purchase_order: PurchaseOrder
    lines: list[ReceivedLine]


class OrderEndIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str
