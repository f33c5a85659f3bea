-- name: reconciliations with outside counts
-- A count set from a 3PL, a storefront or a marketplace, each line compared with what the
-- ledger held at the line's counted_at (movements after the count are accounted for).
-- Nothing is adjusted by a reconciliation: applying a line writes an `adjustment` ledger
-- entry with reference ('reconciliation', '<id>:<line_no>'), and that entry is the only
-- record that the line was applied.

CREATE SEQUENCE reconciliation_numbers;
CREATE TABLE reconciliations (
    id                text PRIMARY KEY,
    source            text NOT NULL,
    threshold_units   bigint NOT NULL CHECK (threshold_units >= 0),
    threshold_percent numeric(7, 3) CHECK (threshold_percent >= 0),
    lines             bigint NOT NULL,
    flagged           bigint NOT NULL,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reconciliation_lines (
    reconciliation text NOT NULL REFERENCES reconciliations (id),
    line_no        integer NOT NULL,
    sku            text NOT NULL,
    location       text,
    counted        bigint NOT NULL,
    expected       bigint NOT NULL,
    counted_at     timestamptz NOT NULL,
    source         text,
    flagged        boolean NOT NULL,
    PRIMARY KEY (reconciliation, line_no)
);
CREATE INDEX reconciliation_lines_flagged_idx ON reconciliation_lines (reconciliation, line_no)
    WHERE counted <> expected;
