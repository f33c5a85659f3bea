"""`GET /v1/discrepancies`: one list to work through (receiving, transfers, picking)."""
