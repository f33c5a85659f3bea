-- name: webhooks
-- Subscriptions of outside systems to reservoir's events, and every message owed to them.
-- The outbox is the source: a fan-out task turns each outbox row (in id order, a cursor in
-- webhook_state) into one message per subscribed endpoint, in the same transaction as it
-- moves the cursor, so every event reaches every endpoint at least once with a stable id.
-- A deliverer posts the messages (signed as Standard Webhooks says), in order per endpoint
-- and ordering key (the SKU), retrying on a schedule; every attempt is logged.

CREATE SEQUENCE webhook_endpoint_numbers;
CREATE TABLE webhook_endpoints (
    id                    text PRIMARY KEY,
    url                   text NOT NULL,
    events                text[] NOT NULL,
    secret                text NOT NULL,
    previous_secret       text,
    previous_secret_until timestamptz,
    enabled               boolean NOT NULL DEFAULT true,
    disabled_reason       text,
    failing_since         timestamptz,
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_state (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_outbox_id bigint NOT NULL
);
-- events from now on: a new installation does not replay its history to new endpoints
INSERT INTO webhook_state (last_outbox_id) SELECT coalesce(max(id), 0) FROM outbox;

CREATE TABLE webhook_messages (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    msg_id         text NOT NULL UNIQUE,
    endpoint       text NOT NULL REFERENCES webhook_endpoints (id),
    event_type     text NOT NULL,
    ordering_key   text,
    payload        jsonb NOT NULL,
    outbox_id      bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts       integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- the retry schedule counts from here: the first attempt, or the last replay
    schedule_from  timestamptz NOT NULL DEFAULT now(),
    delivered_at   timestamptz
);
CREATE INDEX webhook_messages_due_idx ON webhook_messages (next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX webhook_messages_endpoint_idx ON webhook_messages (endpoint, id);

CREATE TABLE webhook_attempts (
    message      bigint NOT NULL REFERENCES webhook_messages (id),
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    latency_ms   integer,
    error        text,
    response     text,
    PRIMARY KEY (message, attempt)
);
