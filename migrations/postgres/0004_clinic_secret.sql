-- Secrets the clinic's instances share, made on first use: the key that
-- signs the one-click unsubscribe links of emails (issue 10, decision 0013).
CREATE TABLE clinic_secret (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
