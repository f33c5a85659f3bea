"""The fault suite: `reservoir serve` under a load of holds, on a private PostgreSQL cluster
and Redis, through kill -9, PostgreSQL crashes and pauses, a Redis outage and a negative
control; every acknowledged hold is read back from the ledger. Run `python -m faults -h`."""
