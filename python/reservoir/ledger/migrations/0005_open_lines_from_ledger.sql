-- name: open order lines from the ledger; reallocated shortfalls
-- Orders can now move between bins (after a short pick), so what a committed reservation
-- still holds, and where, is read from its ledger entries (reserve - release - expire -
-- cancel - ship per SKU and location; commit moves nothing). Held reservations never ship
-- or move: their lines as reserved are exact, and the cheap read for recovery.

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
