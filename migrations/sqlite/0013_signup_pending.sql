-- A sign-up waiting for the code sent to its phone (decision 0027). When
-- the clinic sends text messages, a new patient's details wait here, keyed
-- by the sign-up code's row, until the code comes back; only then are the
-- account and the patient made (no account exists before, so an unproven
-- number blocks nobody). Rows of codes that were used, replaced or expired
-- are deleted at the next sign-up; the password is kept only as its hash.
CREATE TABLE signup_pending (
    code_id       BIGINT PRIMARY KEY REFERENCES one_time_code (id),
    first_name    TEXT   NOT NULL,
    last_name     TEXT   NOT NULL,
    date_of_birth TEXT   NOT NULL,
    email         TEXT,
    password_hash TEXT   NOT NULL
);
