-- name: lots per location; pick-list stops name their lot
-- Lots tracked per location (the engine decides which lot units leave; see
-- rust_core/engine/src/lots.rs). `lots` is each lot's age: expiry date, then the LSN of the
-- receipt that brought it in. `lot_levels` is the fold of the ledger rows that carry a lot,
-- per SKU, location and lot, kept by the writer like `inventory_levels`; units of a level not
-- in any lot are unlotted. Receipts before this migration recorded a lot but nothing that
-- left recorded one, so lots are tracked from the ledger head at migration on
-- (`ledger_head.lots_from_lsn`): older lotted units count as unlotted. A pick-list stop
-- names the lot it picks (NULL: unlotted units).

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
