-- name: inbound: suppliers, purchase orders, transfers in transit, returns by condition
-- Documents (suppliers, purchase orders and their lines, transfers and their lines) are
-- plans and decisions: rows here. What happened to units is the ledger's, as always: a
-- purchase order's received, accepted and rejected units, a transfer's shipped, received and
-- lost units, and every discrepancy are folds of ledger entries that name the document
-- (reference_type, reference_id), so they can never disagree with the stock.
--
-- New ledger kinds (ledger/fold.py has their effect on a level):
--   transit_out  at the source: units leave on_hand, shipped on a transfer
--   transit      at the destination: the same units, now in transit to it (no level effect;
--                the in_transit fold: transit − transit_in − transit_lost)
--   transit_in   at the destination: units that arrived, into on_hand
--   transit_lost at the destination: units that never arrived (no level effect)
--   write_off    a returned unit not fit for anything: recorded, never in stock (no effect)

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
    'receipt', 'adjustment', 'reserve', 'commit', 'release', 'cancel', 'expire', 'ship',
    'transfer_out', 'transfer_in', 'return',
    'transit_out', 'transit', 'transit_in', 'transit_lost', 'write_off'));
-- a line's note (a receipt's "box crushed"), kept with the entry it explains
ALTER TABLE ledger_entries ADD COLUMN note text;
CREATE INDEX ledger_entries_transit_idx ON ledger_entries (sku, location)
    WHERE kind IN ('transit', 'transit_in', 'transit_lost');

-- a warehouse's quarantine: a non-sellable location where damaged and wrong units wait
ALTER TABLE locations DROP CONSTRAINT locations_kind_check;
ALTER TABLE locations ADD CONSTRAINT locations_kind_check
    CHECK (kind IN ('warehouse', 'zone', 'aisle', 'rack', 'bin', 'quarantine'));

CREATE TABLE suppliers (
    code       text PRIMARY KEY,
    name       text,
    email      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE purchase_order_numbers;
CREATE TABLE purchase_orders (
    id            text PRIMARY KEY,
    supplier      text NOT NULL REFERENCES suppliers (code),
    warehouse     text NOT NULL REFERENCES locations (code),
    expected_on   date,
    reference     text,
    -- what a person decided; received and partially_received are read from the ledger
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'cancelled')),
    ended_reason  text,
    ended_at      timestamptz,
    ended_by      text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT purchase_orders_end CHECK ((state = 'open') = (ended_at IS NULL))
);
CREATE INDEX purchase_orders_supplier_idx ON purchase_orders (supplier, created_at);
CREATE INDEX purchase_orders_expected_idx ON purchase_orders (expected_on);

CREATE TABLE purchase_order_lines (
    purchase_order text NOT NULL REFERENCES purchase_orders (id),
    line_no        integer NOT NULL,
    sku            text NOT NULL REFERENCES items (sku),
    ordered        bigint NOT NULL CHECK (ordered > 0),
    unit_cost      numeric(18, 4) CHECK (unit_cost >= 0),
    PRIMARY KEY (purchase_order, line_no),
    UNIQUE (purchase_order, sku)
);
CREATE INDEX purchase_order_lines_sku_idx ON purchase_order_lines (sku);

CREATE SEQUENCE transfer_numbers;
CREATE TABLE transfers (
    id            text PRIMARY KEY,
    from_location text NOT NULL REFERENCES locations (code),
    to_location   text NOT NULL REFERENCES locations (code),
    reference     text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transfers_two_places CHECK (from_location <> to_location)
);

CREATE TABLE transfer_lines (
    transfer  text NOT NULL REFERENCES transfers (id),
    line_no   integer NOT NULL,
    sku       text NOT NULL REFERENCES items (sku),
    quantity  bigint NOT NULL CHECK (quantity > 0),
    lot       text,
    PRIMARY KEY (transfer, line_no),
    UNIQUE NULLS NOT DISTINCT (transfer, sku, lot)
);

-- Each purchase order line with what the ledger says arrived for it: accepted (good units
-- into stock) and rejected (damaged units into quarantine).
CREATE VIEW purchase_order_line_receipts AS
SELECT l.purchase_order, l.line_no, l.sku, l.ordered, l.unit_cost,
       coalesce(sum(e.quantity) FILTER (WHERE e.reference_type = 'purchase_order'), 0)::int8
           AS accepted,
       coalesce(sum(e.quantity) FILTER (WHERE e.reference_type = 'purchase_order_damaged'), 0)::int8
           AS rejected
FROM purchase_order_lines l
LEFT JOIN ledger_entries e
    ON e.reference_type IN ('purchase_order', 'purchase_order_damaged')
   AND e.reference_id = l.purchase_order AND e.sku = l.sku AND e.kind = 'receipt'
GROUP BY l.purchase_order, l.line_no, l.sku, l.ordered, l.unit_cost;

-- One list to work through: every discrepancy, from receiving, transfers and picking.
CREATE VIEW discrepancies AS
SELECT 'led-' || e.id AS id, e.at,
       CASE e.reference_type WHEN 'purchase_order_damaged' THEN 'damaged'
                             ELSE 'wrong_item' END AS kind,
       e.reference_id AS purchase_order, NULL::text AS transfer, NULL::text AS pick_list,
       l.line_no, e.sku, e.location, e.quantity, e.note AS reason, e.actor
FROM ledger_entries e
LEFT JOIN purchase_order_lines l ON l.purchase_order = e.reference_id AND l.sku = e.sku
WHERE e.kind = 'receipt'
  AND e.reference_type IN ('purchase_order_damaged', 'purchase_order_wrong_item')
UNION ALL
SELECT 'led-' || e.id, e.at, 'lost_in_transit', NULL, e.reference_id, NULL, t.line_no, e.sku,
       e.location, e.quantity, e.note, e.actor
FROM ledger_entries e
LEFT JOIN transfer_lines t ON t.transfer = e.reference_id AND t.sku = e.sku
    AND t.lot IS NOT DISTINCT FROM e.lot
WHERE e.kind = 'transit_lost'
UNION ALL
SELECT 'po-' || r.purchase_order || '-' || r.line_no, p.ended_at, 'short', r.purchase_order,
       NULL, NULL, r.line_no, r.sku, p.warehouse, r.ordered - r.accepted - r.rejected,
       p.ended_reason, p.ended_by
FROM purchase_order_line_receipts r JOIN purchase_orders p ON p.id = r.purchase_order
WHERE p.state = 'closed' AND r.accepted + r.rejected < r.ordered
UNION ALL
SELECT 'po-' || r.purchase_order || '-' || r.line_no || '-over',
       (SELECT max(e.at) FROM ledger_entries e
        WHERE e.reference_type = 'purchase_order' AND e.reference_id = r.purchase_order
          AND e.sku = r.sku),
       'over', r.purchase_order, NULL, NULL, r.line_no, r.sku, p.warehouse,
       r.accepted + r.rejected - r.ordered, 'received over the ordered quantity', NULL
FROM purchase_order_line_receipts r JOIN purchase_orders p ON p.id = r.purchase_order
WHERE r.accepted + r.rejected > r.ordered
UNION ALL
SELECT 'pick-' || d.pick_list_id || '-' || d.seq, d.recorded_at, 'short_pick', NULL, NULL,
       d.pick_list_id, d.seq, d.sku, d.location, d.expected - d.picked,
       'picked ' || d.picked || ' of ' || d.expected, d.recorded_by
FROM pick_discrepancies d;
