"""The ledger schema as versioned migrations: `MIGRATIONS` is a list of (version, name, sql).

Append new migrations at the end with the next version; never edit one that has shipped.
`migrations.migrate` applies what a database lacks, in order, in one transaction.

Monthly partitions of `ledger_entries` are not migrations: `partitions.ensure_ledger_partitions`
creates them at start and from the maintenance task.
"""

from __future__ import annotations

from typing import NamedTuple


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


# pg_advisory_xact_lock key serialising schema changes and partition creation ("rsv-migr")
MIGRATION_LOCK_KEY = 0x7273_762D_6D69_6772

SCHEMA_MIGRATIONS_SQL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

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
)
LOCATION_KINDS = ("warehouse", "zone", "aisle", "rack", "bin")
RESERVATION_STATUSES = ("held", "committed", "released", "expired", "fulfilled")

APPEND_ONLY_TRIGGER = "ledger_entries_append_only"
NO_TRUNCATE_TRIGGER = "ledger_entries_no_truncate"

_V1_INITIAL = """
CREATE TABLE items (
    sku        text PRIMARY KEY,
    name       text NOT NULL,
    product    text,
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_product_idx ON items (product) WHERE product IS NOT NULL;

CREATE TABLE locations (
    code       text PRIMARY KEY,
    name       text,
    parent     text REFERENCES locations (code),
    kind       text NOT NULL CHECK (kind IN ('warehouse', 'zone', 'aisle', 'rack', 'bin')),
    sellable   boolean NOT NULL DEFAULT true,
    aisle      integer,
    position   integer,
    level      integer,
    layout     jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT locations_not_own_parent CHECK (parent IS DISTINCT FROM code)
);
CREATE INDEX locations_parent_idx ON locations (parent);

CREATE TABLE ledger_entries (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    lsn            bigint NOT NULL,
    at             timestamptz NOT NULL,
    sku            text NOT NULL,
    location       text NOT NULL,
    kind           text NOT NULL CHECK (kind IN (
                       'receipt', 'adjustment', 'reserve', 'commit', 'release', 'cancel',
                       'expire', 'ship', 'transfer_out', 'transfer_in', 'return')),
    quantity       bigint NOT NULL,
    reference_type text,
    reference_id   text,
    actor          text,
    PRIMARY KEY (id, at),
    CONSTRAINT ledger_entries_quantity_positive CHECK (quantity > 0 OR kind = 'adjustment')
) PARTITION BY RANGE (at);
CREATE INDEX ledger_entries_sku_location_id_idx ON ledger_entries (sku, location, id);
CREATE INDEX ledger_entries_reference_idx ON ledger_entries (reference_type, reference_id);
CREATE TABLE ledger_entries_default PARTITION OF ledger_entries DEFAULT;

CREATE FUNCTION reservoir_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Correct the ledger with a new entry (e.g. an adjustment).';
END
$$;
CREATE TRIGGER ledger_entries_append_only
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION reservoir_ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate
    BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION reservoir_ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate
    BEFORE TRUNCATE ON ledger_entries_default
    FOR EACH STATEMENT EXECUTE FUNCTION reservoir_ledger_append_only();

CREATE TABLE inventory_levels (
    sku        text NOT NULL,
    location   text NOT NULL,
    on_hand    bigint NOT NULL DEFAULT 0,
    reserved   bigint NOT NULL DEFAULT 0,
    committed  bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sku, location)
) WITH (fillfactor = 70);

CREATE TABLE reservations (
    id               text PRIMARY KEY,
    seq              bigint NOT NULL UNIQUE,
    status           text NOT NULL CHECK (status IN (
                         'held', 'committed', 'released', 'expired', 'fulfilled')),
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    channel          text,
    reference        text,
    commit_reference text,
    owner            text,
    lsn              bigint NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX reservations_status_expires_at_idx ON reservations (status, expires_at);

CREATE TABLE reservation_lines (
    reservation_id text NOT NULL REFERENCES reservations (id),
    line_no        integer NOT NULL,
    sku            text NOT NULL,
    location       text NOT NULL,
    quantity       bigint NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, line_no)
);

CREATE TABLE idempotency_keys (
    owner        text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    status_code  integer NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lsn          bigint,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
"""

# The write path: the last LSN the ledger holds (so numbering continues after a restart
# without scanning the ledger), and a receipt's lot and expiry date on its ledger row.
_V2_WRITE_PATH = """
CREATE TABLE ledger_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    lsn       bigint NOT NULL
);
INSERT INTO ledger_head (lsn) VALUES (0);
ALTER TABLE ledger_entries ADD COLUMN lot text, ADD COLUMN expires_on date;
"""

# Pick lists (domain/picklists): not the ledger — shipping goes through the engine as `ship`
# entries. A stop is one reservation's committed units of one SKU at one bin. An allocation
# claims a stop's units for an open (not yet confirmed) list: its primary key is what keeps
# the same units out of two open lists; confirming a list deletes its allocations, so a short
# pick's shortfall (still committed on the reservation) can go into a later list.
# `created_lsn` is the engine's LSN when the list was made: `ship` entries of its
# reservations after it are this list's (how an interrupted confirmation is recognised).
PICK_LIST_STATUSES = ("open", "claimed", "confirmed")
PICK_STRATEGIES = ("optimal", "largest-gap", "s-shape", "location-order", "combined")

_V3_PICK_LISTS = """
CREATE SEQUENCE pick_list_seq;
CREATE TABLE pick_lists (
    id           text PRIMARY KEY,
    seq          bigint NOT NULL UNIQUE,
    warehouse    text NOT NULL REFERENCES locations (code),
    strategy     text NOT NULL CHECK (strategy IN (
                     'optimal', 'largest-gap', 's-shape', 'location-order', 'combined')),
    status       text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'claimed', 'confirmed')),
    distance_m   double precision NOT NULL CHECK (distance_m >= 0),
    created_lsn  bigint NOT NULL,
    created_by   text,
    claimed_by   text,
    confirmed_by text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    claimed_at   timestamptz,
    confirmed_at timestamptz,
    CONSTRAINT pick_lists_claimed_has_claimer
        CHECK (status <> 'claimed' OR (claimed_by IS NOT NULL AND claimed_at IS NOT NULL)),
    CONSTRAINT pick_lists_confirmed_has_time
        CHECK (status <> 'confirmed' OR confirmed_at IS NOT NULL)
);
CREATE INDEX pick_lists_open_idx ON pick_lists (warehouse, seq) WHERE status = 'open';

CREATE TABLE pick_list_stops (
    pick_list_id   text NOT NULL REFERENCES pick_lists (id),
    seq            integer NOT NULL CHECK (seq >= 1),
    location       text NOT NULL REFERENCES locations (code),
    sku            text NOT NULL REFERENCES items (sku),
    quantity       bigint NOT NULL CHECK (quantity > 0),
    reservation_id text NOT NULL REFERENCES reservations (id),
    picked         bigint CHECK (picked >= 0 AND picked <= quantity),
    PRIMARY KEY (pick_list_id, seq)
);
CREATE INDEX pick_list_stops_reservation_idx ON pick_list_stops (reservation_id);

CREATE TABLE pick_allocations (
    reservation_id text NOT NULL REFERENCES reservations (id),
    sku            text NOT NULL,
    location       text NOT NULL,
    pick_list_id   text NOT NULL REFERENCES pick_lists (id),
    quantity       bigint NOT NULL CHECK (quantity > 0),
    allocated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reservation_id, sku, location)
);
CREATE INDEX pick_allocations_pick_list_idx ON pick_allocations (pick_list_id);

CREATE TABLE pick_discrepancies (
    pick_list_id   text NOT NULL REFERENCES pick_lists (id),
    seq            integer NOT NULL,
    reservation_id text NOT NULL,
    sku            text NOT NULL,
    location       text NOT NULL,
    expected       bigint NOT NULL CHECK (expected > 0),
    picked         bigint NOT NULL CHECK (picked >= 0 AND picked < expected),
    recorded_by    text,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pick_list_id, seq),
    FOREIGN KEY (pick_list_id, seq) REFERENCES pick_list_stops (pick_list_id, seq)
);
CREATE INDEX pick_discrepancies_sku_location_idx ON pick_discrepancies (sku, location);
"""

# What an open reservation still holds: its lines as reserved (immutable, per SKU and
# location) less what the ledger says was shipped of them. Recovery loads it into the engine
# and the verifier checks levels against it, so both read one definition.
_V4_OPEN_LINES = """
CREATE VIEW open_reservation_lines AS
SELECT r.id AS reservation_id, r.seq, r.status, r.expires_at, l.line_no, l.sku, l.location,
       (l.quantity - coalesce(shipped.quantity, 0))::bigint AS quantity
FROM reservations r
JOIN LATERAL (
    SELECT min(line_no) AS line_no, sku, location, sum(quantity) AS quantity
    FROM reservation_lines WHERE reservation_id = r.id GROUP BY sku, location
) l ON true
LEFT JOIN LATERAL (
    SELECT sum(e.quantity) AS quantity FROM ledger_entries e
    WHERE r.status = 'committed' AND e.reference_type = 'reservation'
      AND e.reference_id = r.id AND e.kind = 'ship' AND e.sku = l.sku
      AND e.location = l.location
) shipped ON true
WHERE r.status IN ('held', 'committed');
"""

# Orders can now move between bins (after a short pick), so what a committed reservation
# still holds, and where, is read from its ledger entries (reserve - release - expire -
# cancel - ship per SKU and location; commit moves nothing). Held reservations never ship
# or move: their lines as reserved are exact, and the cheap read for recovery.
_V5_OPEN_LINES_FROM_LEDGER = """
DROP VIEW open_reservation_lines;
CREATE VIEW open_reservation_lines AS
SELECT r.id AS reservation_id, r.seq, r.status, r.expires_at, l.line_no::bigint AS line_no,
       l.sku, l.location, l.quantity::bigint AS quantity
FROM reservations r JOIN reservation_lines l ON l.reservation_id = r.id
WHERE r.status = 'held'
UNION ALL
SELECT r.id, r.seq, r.status, r.expires_at, c.line_no, c.sku, c.location, c.quantity
FROM reservations r
JOIN LATERAL (
    SELECT min(e.id) AS line_no, e.sku, e.location,
           sum(CASE WHEN e.kind = 'reserve' THEN e.quantity
                    WHEN e.kind IN ('release', 'expire', 'cancel', 'ship') THEN -e.quantity
                    ELSE 0 END)::bigint AS quantity
    FROM ledger_entries e
    WHERE e.reference_type = 'reservation' AND e.reference_id = r.id
    GROUP BY e.sku, e.location
) c ON true
WHERE r.status = 'committed';
ALTER TABLE pick_discrepancies ADD COLUMN reallocated_to text;
"""

# Lots tracked per location (the engine decides which lot units leave; see
# rust_core/engine/src/lots.rs). `lots` is each lot's age: expiry date, then the LSN of the
# receipt that brought it in. `lot_levels` is the fold of the ledger rows that carry a lot,
# per SKU, location and lot, kept by the writer like `inventory_levels`; units of a level not
# in any lot are unlotted. Receipts before this migration recorded a lot but nothing that
# left recorded one, so lots are tracked from the ledger head at migration on
# (`ledger_head.lots_from_lsn`): older lotted units count as unlotted. A pick-list stop
# names the lot it picks (NULL: unlotted units).
_V6_LOTS = """
CREATE TABLE lots (
    sku        text NOT NULL,
    lot        text NOT NULL,
    expires_on date,
    first_lsn  bigint NOT NULL,
    PRIMARY KEY (sku, lot)
);
CREATE TABLE lot_levels (
    sku      text NOT NULL,
    location text NOT NULL,
    lot      text NOT NULL,
    on_hand  bigint NOT NULL CHECK (on_hand >= 0),
    PRIMARY KEY (sku, location, lot),
    FOREIGN KEY (sku, lot) REFERENCES lots (sku, lot)
);
ALTER TABLE ledger_head ADD COLUMN lots_from_lsn bigint NOT NULL DEFAULT 0;
UPDATE ledger_head SET lots_from_lsn = lsn;
ALTER TABLE pick_list_stops ADD COLUMN lot text;
"""

MIGRATIONS: list[Migration] = [
    Migration(1, "initial ledger schema", _V1_INITIAL),
    Migration(2, "ledger head and receipt lots", _V2_WRITE_PATH),
    Migration(3, "pick lists, stops, allocations and discrepancies", _V3_PICK_LISTS),
    Migration(4, "open reservation lines: reserved less shipped", _V4_OPEN_LINES),
    Migration(
        5, "open order lines from the ledger; reallocated shortfalls", _V5_OPEN_LINES_FROM_LEDGER
    ),
    Migration(6, "lots per location; pick-list stops name their lot", _V6_LOTS),
]

LATEST_VERSION = MIGRATIONS[-1].version
