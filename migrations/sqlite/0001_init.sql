-- medimeet schema, SQLite dialect. Instants are unix seconds (UTC) in BIGINT columns
-- named *_at; local dates are 'YYYY-MM-DD' text. Keep in step with
-- migrations/postgres/0001_init.sql: same tables, columns and constraint names.

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    role          TEXT    NOT NULL CHECK (role IN ('patient', 'doctor', 'admin')),
    -- E.164 phone for patients, lower-cased email for doctors and admins.
    login         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT  NOT NULL,
    CONSTRAINT accounts_login_key UNIQUE (login)
);

CREATE TABLE patients (
    id            INTEGER PRIMARY KEY,
    account_id    BIGINT  NOT NULL UNIQUE REFERENCES accounts (id),
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    phone         TEXT    NOT NULL,
    email         TEXT,
    date_of_birth TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    CONSTRAINT patients_phone_key UNIQUE (phone)
);

CREATE TABLE doctors (
    id               INTEGER PRIMARY KEY,
    account_id       BIGINT  NOT NULL UNIQUE REFERENCES accounts (id),
    first_name       TEXT    NOT NULL,
    last_name        TEXT    NOT NULL,
    specialty        TEXT    NOT NULL,
    experience_years INTEGER NOT NULL CHECK (experience_years BETWEEN 0 AND 80),
    timezone         TEXT    NOT NULL,
    visit_minutes    INTEGER NOT NULL CHECK (visit_minutes BETWEEN 5 AND 240),
    buffer_minutes   INTEGER NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 120),
    fee_cents        BIGINT  NOT NULL CHECK (fee_cents >= 0),
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX doctors_specialty ON doctors (specialty, id);

-- Weekly working hours: wall-clock minutes of the day in the doctor's time zone.
CREATE TABLE working_hours (
    doctor_id    BIGINT  NOT NULL REFERENCES doctors (id),
    weekday      INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- 1 = Monday
    start_minute INTEGER NOT NULL,
    end_minute   INTEGER NOT NULL,
    CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440),
    PRIMARY KEY (doctor_id, weekday, start_minute)
);

-- Date-specific hours replacing the weekly ones; a row with NULL minutes closes the day.
CREATE TABLE date_overrides (
    doctor_id    BIGINT  NOT NULL REFERENCES doctors (id),
    on_date      TEXT    NOT NULL,
    start_minute INTEGER,
    end_minute   INTEGER,
    CHECK ((start_minute IS NULL AND end_minute IS NULL)
        OR (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440))
);
CREATE INDEX date_overrides_doctor ON date_overrides (doctor_id, on_date);

CREATE TABLE time_off (
    id         INTEGER PRIMARY KEY,
    doctor_id  BIGINT NOT NULL REFERENCES doctors (id),
    start_at   BIGINT NOT NULL,
    end_at     BIGINT NOT NULL,
    reason     TEXT,
    created_at BIGINT NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX time_off_doctor ON time_off (doctor_id, end_at);

-- A stored slot is a taken slot. released_at is set when it is freed (cancel,
-- reschedule); only unreleased slots take the doctor's time.
CREATE TABLE slots (
    id          INTEGER PRIMARY KEY,
    doctor_id   BIGINT NOT NULL REFERENCES doctors (id),
    start_at    BIGINT NOT NULL,
    end_at      BIGINT NOT NULL,
    kind        TEXT   NOT NULL CHECK (kind IN ('booked', 'blocked')),
    released_at BIGINT,
    created_at  BIGINT NOT NULL,
    CHECK (end_at > start_at AND end_at - start_at <= 86400)
);
CREATE INDEX slots_taken ON slots (doctor_id, start_at) WHERE released_at IS NULL;

-- No double booking, enforced by the database: SQLite serializes writers, so a
-- check in a trigger is race-free. The bound on start_at keeps it an index range
-- scan (a slot lasts at most a day, see the CHECK above).
CREATE TRIGGER slots_no_overlap_insert
BEFORE INSERT ON slots
WHEN NEW.released_at IS NULL
BEGIN
    SELECT RAISE(ABORT, 'slots_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM slots
        WHERE doctor_id = NEW.doctor_id
          AND released_at IS NULL
          AND start_at > NEW.start_at - 86400
          AND start_at < NEW.end_at
          AND end_at > NEW.start_at
    );
END;

CREATE TRIGGER slots_no_overlap_update
BEFORE UPDATE OF start_at, end_at, doctor_id, released_at ON slots
WHEN NEW.released_at IS NULL
BEGIN
    SELECT RAISE(ABORT, 'slots_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM slots
        WHERE doctor_id = NEW.doctor_id
          AND id <> NEW.id
          AND released_at IS NULL
          AND start_at > NEW.start_at - 86400
          AND start_at < NEW.end_at
          AND end_at > NEW.start_at
    );
END;

CREATE TABLE appointments (
    id             INTEGER PRIMARY KEY,
    doctor_id      BIGINT NOT NULL REFERENCES doctors (id),
    patient_id     BIGINT NOT NULL REFERENCES patients (id),
    slot_id        BIGINT NOT NULL REFERENCES slots (id),
    start_at       BIGINT NOT NULL,
    end_at         BIGINT NOT NULL,
    -- The doctor's local date of start_at: the day of the one-visit-a-day rule.
    local_date     TEXT   NOT NULL,
    status         TEXT   NOT NULL
        CHECK (status IN ('booked', 'in_progress', 'completed', 'no_show', 'cancelled')),
    reason         TEXT,
    cancel_reason  TEXT,
    cancelled_by   BIGINT REFERENCES accounts (id),
    payment_status TEXT   NOT NULL DEFAULT 'unpaid'
        CHECK (payment_status IN ('unpaid', 'paid', 'refunded', 'waived')),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT appointments_slot_key UNIQUE (slot_id)
);
-- The original system's rule: one active visit per patient, doctor and (doctor's) day.
CREATE UNIQUE INDEX appointments_one_per_day
    ON appointments (doctor_id, patient_id, local_date)
    WHERE status IN ('booked', 'in_progress');
CREATE INDEX appointments_patient ON appointments (patient_id, start_at, id);
CREATE INDEX appointments_doctor ON appointments (doctor_id, start_at, id);

CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    csrf_token TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE login_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start BIGINT  NOT NULL,
    locked_until BIGINT
);

-- A booking made with an Idempotency-Key: a retry answers with the same appointment.
CREATE TABLE idempotency_keys (
    account_id     BIGINT NOT NULL REFERENCES accounts (id),
    key            TEXT   NOT NULL,
    request_hash   TEXT   NOT NULL,
    appointment_id BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (account_id, key)
);

CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY,
    at               BIGINT NOT NULL,
    actor_account_id BIGINT,
    action           TEXT   NOT NULL,
    entity           TEXT   NOT NULL,
    entity_id        BIGINT NOT NULL,
    detail           TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
