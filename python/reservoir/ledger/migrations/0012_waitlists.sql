-- name: waitlists
-- A buyer refused for lack of stock may wait for a SKU's units. Each entry is a row here,
-- written by the ledger writer in the batch that logs it: joined (the row), offered (the hold
-- the engine made for it when units came back: `reservation_id`), or left without an offer
-- (`ended_at`, `end_reason`: cancelled by its buyer, or refused when its turn came). Its
-- status after an offer is its reservation's. Recovery loads the entries still waiting, in
-- id order, which is arrival order.

CREATE TABLE waitlist_entries (
    id             bigint PRIMARY KEY,
    sku            text NOT NULL REFERENCES items (sku),
    quantity       bigint NOT NULL CHECK (quantity >= 1),
    buyer          text NOT NULL,
    channel        text,
    owner          text,
    callback       text,
    created_at     timestamptz NOT NULL,
    lsn            bigint NOT NULL,
    reservation_id text,
    offered_at     timestamptz,
    ended_at       timestamptz,
    end_reason     text CHECK (end_reason IN ('cancelled', 'refused')),
    CONSTRAINT waitlist_entries_one_end CHECK (reservation_id IS NULL OR ended_at IS NULL)
);
CREATE INDEX waitlist_entries_waiting_idx ON waitlist_entries (id)
    WHERE reservation_id IS NULL AND ended_at IS NULL;
CREATE INDEX waitlist_entries_sku_idx ON waitlist_entries (sku, id);
CREATE UNIQUE INDEX waitlist_entries_reservation_idx ON waitlist_entries (reservation_id)
    WHERE reservation_id IS NOT NULL;
