-- name: sales channels
-- A channel is a place that sells (web, app, marketplace, wholesale): a safety buffer of each
-- SKU is withheld from its holds (units, or a percent of what is on hand where it sells), and
-- it may sell only from some locations (each and everything inside it). The engine enforces
-- both with the hold; this table is their record, loaded at recovery.

CREATE TABLE channels (
    code                  text PRIMARY KEY,
    name                  text,
    safety_buffer_units   bigint CHECK (safety_buffer_units >= 0),
    safety_buffer_percent smallint CHECK (safety_buffer_percent BETWEEN 0 AND 100),
    locations             text[],
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT channels_one_buffer
        CHECK (safety_buffer_units IS NULL OR safety_buffer_percent IS NULL)
);
