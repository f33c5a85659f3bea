-- name: buyers and per-buyer caps
-- A hold may name its buyer (an opaque id the storefront supplies); an item may cap the units
-- one buyer takes of it. A buyer's count per SKU is the ledger's reserve less release,
-- expire and cancel over the buyer's reservations (shipped units stay counted), which
-- recovery sums; open holds carry their buyer so the engine can give units back to it.

ALTER TABLE reservations ADD COLUMN buyer text;
ALTER TABLE items ADD COLUMN per_buyer_max bigint
    CONSTRAINT items_per_buyer_max_positive CHECK (per_buyer_max >= 1);

DROP VIEW open_reservation_lines;
CREATE VIEW open_reservation_lines AS
SELECT r.id AS reservation_id, r.seq, r.status, r.expires_at, l.line_no::bigint AS line_no,
       l.sku, l.location, l.quantity::bigint AS quantity, r.buyer
FROM reservations r JOIN reservation_lines l ON l.reservation_id = r.id
WHERE r.status = 'held'
UNION ALL
SELECT r.id, r.seq, r.status, r.expires_at, c.line_no, c.sku, c.location, c.quantity, r.buyer
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

CREATE VIEW buyer_units AS
SELECT r.buyer, e.sku,
       sum(CASE WHEN e.kind = 'reserve' THEN e.quantity
                WHEN e.kind IN ('release', 'expire', 'cancel') THEN -e.quantity
                ELSE 0 END)::bigint AS units
FROM reservations r
JOIN ledger_entries e ON e.reference_type = 'reservation' AND e.reference_id = r.id
WHERE r.buyer IS NOT NULL
GROUP BY r.buyer, e.sku;
