-- Notifications through a transactional outbox (decision 0013).

-- One row per change that people or systems hear about, written in the
-- change's own transaction; the worker expands it into deliveries.
CREATE TABLE notification_event (
    id               INTEGER PRIMARY KEY,
    event            TEXT   NOT NULL CHECK (event IN ('booked', 'rescheduled', 'cancelled', 'status_changed', 'note_ready')),
    appointment_id   BIGINT NOT NULL REFERENCES appointments (id),
    actor_account_id BIGINT REFERENCES accounts (id),
    detail           TEXT,
    visit_start      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    expanded_at      BIGINT
);
CREATE INDEX notification_event_unexpanded ON notification_event (id) WHERE expanded_at IS NULL;

-- The clinic's webhook endpoints.
CREATE TABLE webhook_endpoint (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL,
    events          TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    previous_secret TEXT,
    previous_until  BIGINT,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    created_at      BIGINT  NOT NULL
);

-- One message to one recipient on one channel (or to one webhook endpoint).
CREATE TABLE delivery (
    id             INTEGER PRIMARY KEY,
    event_id       BIGINT REFERENCES notification_event (id),
    channel        TEXT   NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    kind           TEXT   NOT NULL CHECK (kind IN ('notice', 'reminder', 'test')),
    appointment_id BIGINT REFERENCES appointments (id),
    account_id     BIGINT REFERENCES accounts (id),
    webhook_id     BIGINT REFERENCES webhook_endpoint (id),
    message_id     TEXT   NOT NULL,
    visit_start    BIGINT,
    lead_hours     BIGINT,
    due_at         BIGINT NOT NULL,
    state          TEXT   NOT NULL CHECK (state IN ('pending', 'sent', 'dead', 'dropped', 'not_configured')),
    attempts       BIGINT NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until    BIGINT,
    last_error     TEXT,
    sent_at        BIGINT,
    created_at     BIGINT NOT NULL,
    CONSTRAINT delivery_message_id_key UNIQUE (message_id)
);
CREATE INDEX delivery_due ON delivery (due_at) WHERE state = 'pending';
CREATE INDEX delivery_appointment ON delivery (appointment_id, kind, state);

-- What a patient wants to hear by (read again at send time).
ALTER TABLE patients ADD COLUMN notify_email BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE patients ADD COLUMN notify_sms BOOLEAN NOT NULL DEFAULT TRUE;
