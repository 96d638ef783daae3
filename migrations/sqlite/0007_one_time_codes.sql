-- One-time codes sent by SMS or email (decision 0018): a forgotten
-- password, a new phone number to verify, and later a sign-up by SMS.
-- Only a hash of the code is kept here; the delivery that carries it keeps
-- the code itself until it is sent, then forgets it.
CREATE TABLE one_time_code (
    id         INTEGER PRIMARY KEY,
    purpose    TEXT   NOT NULL CHECK (purpose IN ('password_reset', 'phone_change', 'signup')),
    account_id BIGINT REFERENCES accounts (id),
    channel    TEXT   NOT NULL CHECK (channel IN ('email', 'sms')),
    address    TEXT   NOT NULL,
    code_hash  TEXT   NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX one_time_code_address ON one_time_code (purpose, address, id);
CREATE INDEX one_time_code_account ON one_time_code (account_id, purpose, id);

-- A delivery may carry a code (kind 'notice', no visit).
ALTER TABLE delivery ADD COLUMN code_id BIGINT REFERENCES one_time_code (id);
ALTER TABLE delivery ADD COLUMN code_text TEXT;
