-- name: committed reservations indexed by seq; holds not indexed by status
-- A hold's expiry lives in the engine's timers, and recovery reads held lines in bulk, so no
-- query looks up held reservations by status: `reservations_status_expires_at_idx` cost one
-- index entry per hold for nothing (a third of the reservation row's index writes). What asks
-- by status asks for committed orders: the committed part of `open_reservation_lines`, and
-- pick-list candidates in keyset pages by seq. A partial index on seq serves both.

DROP INDEX reservations_status_expires_at_idx;
CREATE INDEX reservations_committed_seq_idx ON reservations (seq) WHERE status = 'committed';
