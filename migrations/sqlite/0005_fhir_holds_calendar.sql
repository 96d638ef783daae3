-- FHIR holds and calendar feeds (decision 0015).

-- A hold on a slot for one patient ($hold): it takes a `slots` row of kind
-- 'blocked', so the no-overlap rule covers holds as it covers bookings.
CREATE TABLE slot_hold (
    id          INTEGER PRIMARY KEY,
    slot_id     BIGINT NOT NULL REFERENCES slots (id),
    doctor_id   BIGINT NOT NULL REFERENCES doctors (id),
    patient_id  BIGINT NOT NULL REFERENCES patients (id),
    start_at    BIGINT NOT NULL,
    end_at      BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    released_at BIGINT
);
CREATE INDEX slot_hold_open ON slot_hold (expires_at) WHERE released_at IS NULL;
CREATE INDEX slot_hold_slot ON slot_hold (doctor_id, start_at) WHERE released_at IS NULL;

-- The calendar feed's URL is derived from the account and this number;
-- rotating the URL increments it.
ALTER TABLE accounts ADD COLUMN calendar_generation BIGINT NOT NULL DEFAULT 0;

-- A visit's version is its number of events (decision 0015): FHIR's
-- versionId and ETag, the calendar's SEQUENCE. Counted per visit, often.
CREATE INDEX notification_event_appointment ON notification_event (appointment_id, id);
