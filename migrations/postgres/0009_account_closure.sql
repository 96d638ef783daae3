-- Patients' own data: closing an account (decision 0020). The account's
-- login is turned off (accounts.active) and its sessions deleted; the
-- patient's record stays, marked with when it was closed, so the clinic
-- keeps its medical record and nothing is sent to the patient after that.
ALTER TABLE patients ADD COLUMN closed_at BIGINT;
