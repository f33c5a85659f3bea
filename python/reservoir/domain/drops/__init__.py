"""Drops: `PUT/GET /v1/drops/{code}`: a SKU sold in a window, with pools per channel."""
