-- A second factor for staff (decision 0019): a TOTP secret per account,
-- sealed with a key derived from the clinic's secret (never stored in
-- clear), on once confirmed with a code; the last step used, so that a
-- code is accepted once; and ten single-use recovery codes, stored hashed.
CREATE TABLE account_totp (
    account_id    BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    secret_sealed TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    enabled_at    BIGINT,
    last_step     BIGINT
);

CREATE TABLE totp_recovery_code (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash  TEXT   NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);
