"""Reading the append-only ledger."""
