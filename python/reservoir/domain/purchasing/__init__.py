"""Purchasing: suppliers, purchase orders and receiving against them
(`/v1/suppliers`, `/v1/purchase-orders`)."""
