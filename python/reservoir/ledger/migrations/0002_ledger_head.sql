-- name: ledger head and receipt lots
-- The write path: the last LSN the ledger holds (so numbering continues after a restart
-- without scanning the ledger), and a receipt's lot and expiry date on its ledger row.

CREATE TABLE ledger_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    lsn       bigint NOT NULL
);
INSERT INTO ledger_head (lsn) VALUES (0);
ALTER TABLE ledger_entries ADD COLUMN lot text, ADD COLUMN expires_on date;
