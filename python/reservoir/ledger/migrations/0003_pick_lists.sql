-- name: pick lists, stops, allocations and discrepancies
-- Pick lists (domain/picklists): not the ledger — shipping goes through the engine as `ship`
-- entries. A stop is one reservation's committed units of one SKU at one bin. An allocation
-- claims a stop's units for an open (not yet confirmed) list: its primary key is what keeps
-- the same units out of two open lists; confirming a list deletes its allocations, so a short
-- pick's shortfall (still committed on the reservation) can go into a later list.
-- `created_lsn` is the engine's LSN when the list was made: `ship` entries of its
-- reservations after it are this list's (how an interrupted confirmation is recognised).

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
