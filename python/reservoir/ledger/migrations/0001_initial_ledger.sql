-- name: initial ledger schema

CREATE TABLE items (
    sku        text PRIMARY KEY,
    name       text NOT NULL,
    product    text,
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_product_idx ON items (product) WHERE product IS NOT NULL;

CREATE TABLE locations (
    code       text PRIMARY KEY,
    name       text,
    parent     text REFERENCES locations (code),
    kind       text NOT NULL CHECK (kind IN ('warehouse', 'zone', 'aisle', 'rack', 'bin')),
    sellable   boolean NOT NULL DEFAULT true,
    aisle      integer,
    position   integer,
    level      integer,
    layout     jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT locations_not_own_parent CHECK (parent IS DISTINCT FROM code)
);
CREATE INDEX locations_parent_idx ON locations (parent);

CREATE TABLE ledger_entries (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    lsn            bigint NOT NULL,
    at             timestamptz NOT NULL,
    sku            text NOT NULL,
    location       text NOT NULL,
    kind           text NOT NULL CHECK (kind IN (
                       'receipt', 'adjustment', 'reserve', 'commit', 'release', 'cancel',
                       'expire', 'ship', 'transfer_out', 'transfer_in', 'return')),
    quantity       bigint NOT NULL,
    reference_type text,
    reference_id   text,
    actor          text,
    PRIMARY KEY (id, at),
    CONSTRAINT ledger_entries_quantity_positive CHECK (quantity > 0 OR kind = 'adjustment')
) PARTITION BY RANGE (at);
CREATE INDEX ledger_entries_sku_location_id_idx ON ledger_entries (sku, location, id);
CREATE INDEX ledger_entries_reference_idx ON ledger_entries (reference_type, reference_id);
CREATE TABLE ledger_entries_default PARTITION OF ledger_entries DEFAULT;

CREATE FUNCTION reservoir_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Correct the ledger with a new entry (e.g. an adjustment).';
END
$$;
CREATE TRIGGER ledger_entries_append_only
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION reservoir_ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate
    BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION reservoir_ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate
    BEFORE TRUNCATE ON ledger_entries_default
    FOR EACH STATEMENT EXECUTE FUNCTION reservoir_ledger_append_only();

CREATE TABLE inventory_levels (
    sku        text NOT NULL,
    location   text NOT NULL,
    on_hand    bigint NOT NULL DEFAULT 0,
    reserved   bigint NOT NULL DEFAULT 0,
    committed  bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sku, location)
) WITH (fillfactor = 70);

CREATE TABLE reservations (
    id               text PRIMARY KEY,
    seq              bigint NOT NULL UNIQUE,
    status           text NOT NULL CHECK (status IN (
                         'held', 'committed', 'released', 'expired', 'fulfilled')),
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    channel          text,
    reference        text,
    commit_reference text,
    owner            text,
    lsn              bigint NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX reservations_status_expires_at_idx ON reservations (status, expires_at);

CREATE TABLE reservation_lines (
    reservation_id text NOT NULL REFERENCES reservations (id),
    line_no        integer NOT NULL,
    sku            text NOT NULL,
    location       text NOT NULL,
    quantity       bigint NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, line_no)
);

CREATE TABLE idempotency_keys (
    owner        text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    status_code  integer NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lsn          bigint,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
