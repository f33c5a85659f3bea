"""Ledger entries: reading the append-only ledger (`GET /v1/ledger`). The ledger itself, its
schema and its writer, is the `reservoir.ledger` package."""
