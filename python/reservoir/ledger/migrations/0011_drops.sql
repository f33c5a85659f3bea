-- name: drops and their transitions
-- A drop sells one SKU in a window with units ring-fenced per channel (pools) until spill_at.
-- `drops` is its definition (loaded at recovery); `drop_events` is the append-only record of
-- its transitions (defined, started, spilled, ended), each with the pools as they stood:
-- they move no stock, so they are not ledger_entries rows (the level fold stays the same),
-- and they are kept like them: no update, no delete.

CREATE TABLE drops (
    code          text PRIMARY KEY,
    sku           text NOT NULL UNIQUE REFERENCES items (sku),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    spill_at      timestamptz NOT NULL,
    per_buyer_max bigint CHECK (per_buyer_max >= 1),
    pools         jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT drops_window CHECK (starts_at < ends_at AND spill_at BETWEEN starts_at AND ends_at)
);

CREATE TABLE drop_events (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code   text NOT NULL REFERENCES drops (code),
    event  text NOT NULL CHECK (event IN ('defined', 'started', 'spilled', 'ended')),
    at     timestamptz NOT NULL,
    pools  jsonb NOT NULL,
    actor  text NOT NULL
);
CREATE INDEX drop_events_code_idx ON drop_events (code, id);
-- one of each time-driven transition per drop: a restart does not write it twice
CREATE UNIQUE INDEX drop_events_once_idx ON drop_events (code, event) WHERE event <> 'defined';
CREATE TRIGGER drop_events_append_only
    BEFORE UPDATE OR DELETE ON drop_events
    FOR EACH ROW EXECUTE FUNCTION reservoir_ledger_append_only();
