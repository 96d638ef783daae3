//! A demo clinic, so a newcomer sees a working system at once: a dozen doctors
//! over several specialties and time zones, one admin and one patient.

use crate::auth::hash_password;
use crate::store::{AvailabilityRows, HoursRow, NewDoctor, NewPatient, Store, StoreError};

pub const ADMIN_EMAIL: &str = "admin@medimeet.test";
pub const ADMIN_PASSWORD: &str = "admin-demo-pass";
pub const PATIENT_PHONE: &str = "+12025550143";
pub const PATIENT_PASSWORD: &str = "patient-demo-pass";
pub const DOCTOR_PASSWORD: &str = "doctor-demo-pass";

/// (first, last, specialty, years, zone, visit minutes)
const DOCTORS: &[(&str, &str, &str, i32, &str, i32)] = &[
    ("Amara", "Okafor", "Cardiology", 15, "America/New_York", 30),
    ("Lukas", "Schneider", "Dermatology", 8, "Europe/Berlin", 20),
    ("Priya", "Raman", "Pediatrics", 12, "Asia/Kolkata", 30),
    (
        "James",
        "Whitaker",
        "General Practice",
        20,
        "Europe/London",
        15,
    ),
    ("Sofia", "Martins", "Psychiatry", 9, "America/Sao_Paulo", 45),
    ("Kenji", "Watanabe", "Endocrinology", 17, "Asia/Tokyo", 30),
    (
        "Emily",
        "Carter",
        "General Practice",
        5,
        "America/Los_Angeles",
        20,
    ),
    ("Omar", "Haddad", "Cardiology", 22, "Asia/Dubai", 30),
    ("Chloé", "Dubois", "Dermatology", 11, "Europe/Paris", 20),
    ("Grace", "Mensah", "Pediatrics", 7, "Africa/Accra", 30),
    ("Liam", "O'Brien", "Psychiatry", 14, "Europe/Dublin", 45),
    ("Ana", "García", "Neurology", 18, "America/Mexico_City", 30),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Hash,
}

/// What was loaded, to print for the newcomer.
#[derive(Debug)]
pub struct DemoLogins {
    pub admin_email: &'static str,
    pub admin_password: &'static str,
    pub patient_phone: &'static str,
    pub patient_password: &'static str,
    pub doctor_emails: Vec<String>,
    pub doctor_password: &'static str,
}

fn email_of(first: &str, last: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_lowercase()
    };
    format!("{}.{}@medimeet.test", clean(first), clean(last))
}

/// Loads the demo clinic if the database has no accounts yet; `None` if it had.
pub async fn load_if_empty(store: &Store, now: i64) -> Result<Option<DemoLogins>, DemoError> {
    if store.count_accounts().await? > 0 {
        return Ok(None);
    }
    let hashes = tokio::task::spawn_blocking(|| {
        Some((
            hash_password(ADMIN_PASSWORD).ok()?,
            hash_password(PATIENT_PASSWORD).ok()?,
            hash_password(DOCTOR_PASSWORD).ok()?,
        ))
    })
    .await
    .ok()
    .flatten()
    .ok_or(DemoError::Hash)?;
    let (admin_hash, patient_hash, doctor_hash) = hashes;
    let admin = store.create_admin(ADMIN_EMAIL, &admin_hash, now).await?;
    store
        .create_patient(
            NewPatient {
                phone: PATIENT_PHONE,
                password_hash: &patient_hash,
                first_name: "Pat",
                last_name: "Demo",
                email: Some("pat.demo@example.org"),
                date_of_birth: "1988-04-12",
            },
            now,
        )
        .await?;
    let mut doctor_emails = Vec::new();
    for (i, (first, last, specialty, years, tz, visit)) in DOCTORS.iter().enumerate() {
        let email = email_of(first, last);
        let d = store
            .create_doctor(
                NewDoctor {
                    email: &email,
                    password_hash: &doctor_hash,
                    first_name: first,
                    last_name: last,
                    specialty,
                    experience_years: *years,
                    timezone: tz,
                    visit_minutes: *visit,
                    fee_cents: 4000 + i64::from(*years) * 250,
                },
                Some(admin),
                now,
            )
            .await?;
        // Monday to Friday 09:00-12:00 and 13:00-17:00; every other doctor also
        // Saturday mornings.
        let mut weekly = Vec::new();
        for weekday in 1..=5 {
            weekly.push(HoursRow {
                weekday,
                start_minute: 9 * 60,
                end_minute: 12 * 60,
            });
            weekly.push(HoursRow {
                weekday,
                start_minute: 13 * 60,
                end_minute: 17 * 60,
            });
        }
        if i % 2 == 0 {
            weekly.push(HoursRow {
                weekday: 6,
                start_minute: 9 * 60,
                end_minute: 12 * 60,
            });
        }
        store
            .replace_availability(
                d.id,
                &AvailabilityRows {
                    visit_minutes: *visit,
                    buffer_minutes: 0,
                    weekly,
                    overrides: Vec::new(),
                },
                Some(admin),
                now,
            )
            .await?;
        doctor_emails.push(email);
    }
    Ok(Some(DemoLogins {
        admin_email: ADMIN_EMAIL,
        admin_password: ADMIN_PASSWORD,
        patient_phone: PATIENT_PHONE,
        patient_password: PATIENT_PASSWORD,
        doctor_emails,
        doctor_password: DOCTOR_PASSWORD,
    }))
}
