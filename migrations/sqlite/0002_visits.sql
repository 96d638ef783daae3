-- The video visit (decision 0011): the chat and the note kept with the
-- appointment, who is in the room, and the relay of signaling messages between
-- instances. Instants are unix seconds, as everywhere.

-- The chat beside the video; read by the visit's two people afterwards.
CREATE TABLE visit_message (
    id                INTEGER PRIMARY KEY,
    appointment_id    BIGINT NOT NULL REFERENCES appointments (id),
    author_account_id BIGINT NOT NULL REFERENCES accounts (id),
    body              TEXT   NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at        BIGINT NOT NULL
);
CREATE INDEX visit_message_appointment ON visit_message (appointment_id, id);
CREATE INDEX visit_message_author ON visit_message (author_account_id, created_at);

-- One note per visit, written by its doctor.
CREATE TABLE visit_note (
    appointment_id    BIGINT PRIMARY KEY REFERENCES appointments (id),
    author_account_id BIGINT NOT NULL REFERENCES accounts (id),
    body              TEXT   NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- Who is in the room now: one row per role, its socket's connection id, and
-- when that socket last showed it was alive (a row not seen for a minute is
-- gone: its instance died). A newer socket of the same person takes the row.
CREATE TABLE visit_presence (
    appointment_id BIGINT NOT NULL REFERENCES appointments (id),
    role           TEXT   NOT NULL CHECK (role IN ('patient', 'doctor')),
    account_id     BIGINT NOT NULL REFERENCES accounts (id),
    connection     TEXT   NOT NULL,
    entered_at     BIGINT NOT NULL,
    seen_at        BIGINT NOT NULL,
    PRIMARY KEY (appointment_id, role)
);

-- Signaling messages on their way between the sockets of one visit. SQLite
-- serves one instance, so delivery is in-process; the rows keep the relay the
-- same as on PostgreSQL (where each id is NOTIFYed). Rows older than an hour
-- are pruned.
CREATE TABLE visit_signal (
    id              INTEGER PRIMARY KEY,
    appointment_id  BIGINT NOT NULL REFERENCES appointments (id),
    from_account_id BIGINT REFERENCES accounts (id),
    to_role         TEXT   NOT NULL CHECK (to_role IN ('patient', 'doctor', 'both')),
    kind            TEXT   NOT NULL,
    payload         TEXT   NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX visit_signal_created ON visit_signal (created_at);
