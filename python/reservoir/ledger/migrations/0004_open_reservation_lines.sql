-- name: open reservation lines: reserved less shipped
-- What an open reservation still holds: its lines as reserved (immutable, per SKU and
-- location) less what the ledger says was shipped of them. Recovery loads it into the engine
-- and the verifier checks levels against it, so both read one definition.

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
