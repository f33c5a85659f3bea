"""Names and values the ledger schema is built on, for the code that reads or checks it.

The schema itself is the migrations, one SQL file each in `ledger/migrations/` (applied by
`ledger.migrate`). Keep these in step with the CHECK constraints there.

Monthly partitions of `ledger_entries` are not migrations: `partitions.ensure_ledger_partitions`
creates them at start and from the maintenance task.
"""

from __future__ import annotations

# pg_advisory_xact_lock key serialising schema changes and partition creation ("rsv-migr")
MIGRATION_LOCK_KEY = 0x7273_762D_6D69_6772

LEDGER_KINDS = (
    "receipt",
    "adjustment",
    "reserve",
    "commit",
    "release",
    "cancel",
    "expire",
    "ship",
    "transfer_out",
    "transfer_in",
    "return",
    "transit_out",
    "transit",
    "transit_in",
    "transit_lost",
    "write_off",
)
LOCATION_KINDS = ("warehouse", "zone", "aisle", "rack", "bin", "quarantine")
RESERVATION_STATUSES = ("held", "committed", "released", "expired", "fulfilled")

APPEND_ONLY_TRIGGER = "ledger_entries_append_only"
NO_TRUNCATE_TRIGGER = "ledger_entries_no_truncate"

# pick lists (migration 3)
PICK_LIST_STATUSES = ("open", "claimed", "confirmed")
PICK_STRATEGIES = ("optimal", "largest-gap", "s-shape", "location-order", "combined")
