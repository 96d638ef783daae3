//! A demo clinic, so a newcomer sees a working system at once: a dozen doctors
//! over several specialties and time zones, one admin and one patient.

use crate::auth::hash_password;
use crate::domain::appointment::Status;
use crate::domain::ids::{AccountId, DoctorId};
use crate::domain::schedule::{
    self, Availability, DayInterval, MinuteOfDay, SlotWindow, WeeklyInterval,
};
use crate::store::{
    AvailabilityRows, BookOutcome, HoursRow, NewBooking, NewDoctor, NewPatient, Store, StoreError,
    Transition,
};
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

pub const ADMIN_EMAIL: &str = "admin@medimeet.test";
pub const ADMIN_PASSWORD: &str = "admin-demo-pass";
pub const PATIENT_PHONE: &str = "+12025550143";
pub const PATIENT_PASSWORD: &str = "patient-demo-pass";
pub const DOCTOR_PASSWORD: &str = "doctor-demo-pass";
/// The login of the first demo doctor, offered on the landing page.
pub const FIRST_DOCTOR_EMAIL: &str = "amara.okafor@medimeet.test";

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
    // Every account made here is marked as the demo's (migration 0010), so
    // `medimeet demo remove` removes exactly these, whatever their names.
    let mut accounts = vec![admin];
    let pat = store
        .create_patient(
            NewPatient {
                phone: PATIENT_PHONE,
                password_hash: &patient_hash,
                first_name: "Pat",
                last_name: "Demo",
                email: Some("pat.demo@example.org"),
                date_of_birth: jiff::civil::date(1988, 4, 12),
            },
            now,
        )
        .await?;
    accounts.push(pat.account_id);
    let mut doctor_emails = Vec::new();
    let mut history = Vec::new();
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
        accounts.push(d.account_id);
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
        history.push((d.id, *tz, *visit, weekly_intervals(&weekly)));
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
    accounts.extend(load_history(store, admin, &patient_hash, &history, now).await?);
    store.mark_demo(&accounts).await?;
    // The demo's made-up history tells nobody: its addresses are not real.
    store.settle_events_unsent(now).await?;
    Ok(Some(DemoLogins {
        admin_email: ADMIN_EMAIL,
        admin_password: ADMIN_PASSWORD,
        patient_phone: PATIENT_PHONE,
        patient_password: PATIENT_PASSWORD,
        doctor_emails,
        doctor_password: DOCTOR_PASSWORD,
    }))
}

/// Patients who fill the demo clinic's last 30 days and next two weeks, so the
/// doctors' weeks and the admin dashboard have something to show. They log in
/// with the demo patient's password.
const HISTORY_PATIENTS: &[(&str, &str)] = &[
    ("Lena", "Fischer"),
    ("Tomás", "Ruiz"),
    ("Aisha", "Bello"),
    ("Mateo", "Rossi"),
    ("Yuki", "Tanaka"),
    ("Olivia", "Brown"),
    ("Arjun", "Mehta"),
    ("Sara", "Lindgren"),
    ("Kwame", "Asante"),
    ("Elena", "Popescu"),
    ("Noah", "Cohen"),
    ("Fatima", "Zahra"),
    ("Lucas", "Moreau"),
    ("Mei", "Chen"),
    ("Daniel", "Novak"),
    ("Ines", "Carvalho"),
];

const REASONS: &[&str] = &[
    "Follow-up on test results",
    "Recurring headaches",
    "Repeat prescription",
    "Skin rash on both arms",
    "Trouble sleeping",
    "Annual check-up",
    "Chest tightness when climbing stairs",
    "Child has had a fever for three days",
    "Blood pressure review",
    "Anxiety before exams",
];

const CANCEL_REASONS: &[&str] = &[
    "Feeling better",
    "Work meeting came up",
    "Booked by mistake",
];

/// A small deterministic generator, so every demo clinic looks the same.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn weekly_intervals(rows: &[HoursRow]) -> Vec<WeeklyInterval> {
    rows.iter()
        .filter_map(|h| {
            let minute = |m: i32| MinuteOfDay::new(u16::try_from(m).ok()?).ok();
            Some(WeeklyInterval {
                weekday: Weekday::from_monday_one_offset(i8::try_from(h.weekday).ok()?).ok()?,
                interval: DayInterval::new(minute(h.start_minute)?, minute(h.end_minute)?).ok()?,
            })
        })
        .collect()
}

/// The slots the doctor's hours give in `[from, to)` (the domain's generator,
/// asked as if it were `from`).
fn slots_between(avail: &Availability, from: Timestamp, to: Timestamp) -> Vec<schedule::Period> {
    schedule::free_slots(
        avail,
        &[],
        &SlotWindow {
            from,
            to,
            now: from,
            min_notice: SignedDuration::ZERO,
            horizon: to.duration_since(from) + SignedDuration::from_secs(1),
        },
    )
}

/// Books about a third of each doctor's slots over the last 30 days (most
/// completed, some no-shows and cancellations) and a quarter of those from the
/// day after tomorrow for two weeks, for the history patients.
async fn load_history(
    store: &Store,
    admin: AccountId,
    password_hash: &str,
    doctors: &[(DoctorId, &str, i32, Vec<WeeklyInterval>)],
    now: i64,
) -> Result<Vec<AccountId>, DemoError> {
    let mut patients = Vec::new();
    let mut accounts = Vec::new();
    for (i, (first, last)) in HISTORY_PATIENTS.iter().enumerate() {
        let phone = format!("+1202555{:04}", 150 + i);
        let p = store
            .create_patient(
                NewPatient {
                    phone: &phone,
                    password_hash,
                    first_name: first,
                    last_name: last,
                    email: None,
                    date_of_birth: history_birth_date(i),
                },
                now - 45 * 86_400,
            )
            .await?;
        patients.push(p.id);
        accounts.push(p.account_id);
    }
    let Ok(now_ts) = Timestamp::from_second(now) else {
        return Ok(accounts);
    };
    let day = SignedDuration::from_hours(24);
    let past = (now_ts - day * 30, now_ts - SignedDuration::from_hours(1));
    let ahead = (now_ts + day * 2, now_ts + day * 16);
    for (n, (doctor_id, tz_name, visit, weekly)) in doctors.iter().enumerate() {
        let Ok(tz) = TimeZone::get(tz_name) else {
            continue;
        };
        let avail = Availability {
            time_zone: tz.clone(),
            weekly: weekly.clone(),
            overrides: Vec::new(),
            time_off: Vec::new(),
            visit_minutes: u16::try_from(*visit).unwrap_or(30),
            buffer_minutes: 0,
        };
        let mut dice =
            Dice(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let mut per_day: Vec<(jiff::civil::Date, usize)> = Vec::new();
        for (window, share) in [(past, 36), (ahead, 24)] {
            for slot in slots_between(&avail, window.0, window.1) {
                if dice.below(100) >= share {
                    continue;
                }
                let date = schedule::local_date(slot.start, &tz);
                // One visit per patient, doctor and day: the day's k-th booking
                // goes to the k-th patient.
                let k = match per_day.iter_mut().find(|(d, _)| *d == date) {
                    Some((_, k)) => {
                        *k += 1;
                        *k
                    }
                    None => {
                        per_day.push((date, 0));
                        0
                    }
                };
                let Some(patient_id) = patients.get(k) else {
                    continue;
                };
                let start = slot.start.as_second();
                // Booked a few hours to nine days before the visit, and never
                // later than now.
                let lead = 3600 * (2 + i64::try_from(dice.below(24 * 9)).unwrap_or(0));
                let created = if start >= now {
                    now - 3600 * (1 + i64::try_from(dice.below(24 * 10)).unwrap_or(0))
                } else {
                    (start - lead).max(now - 34 * 86_400)
                };
                let reason =
                    REASONS[usize::try_from(dice.below(REASONS.len() as u64)).unwrap_or(0)];
                let outcome = store
                    .book(
                        &NewBooking {
                            doctor_id: *doctor_id,
                            patient_id: *patient_id,
                            start_at: slot.start,
                            end_at: slot.end,
                            local_date: date,
                            reason: Some(reason),
                            idempotency: None,
                        },
                        Some(admin),
                        created,
                    )
                    .await?;
                let BookOutcome::Created(row) = outcome else {
                    continue;
                };
                if start >= now {
                    continue;
                }
                let roll = dice.below(100);
                let (to, cancel_reason) = match roll {
                    0..72 => (Status::Completed, None),
                    72..82 => (Status::NoShow, None),
                    _ => (
                        Status::Cancelled,
                        Some(CANCEL_REASONS[usize::try_from(roll % 3).unwrap_or(0)]),
                    ),
                };
                let at = if to == Status::Cancelled {
                    (start - 3600 * 30).max(created)
                } else {
                    slot.end.as_second()
                };
                store
                    .transition(
                        &Transition {
                            id: row.id,
                            doctor_id: *doctor_id,
                            from_status: Status::Booked,
                            to_status: to,
                            cancel_reason,
                            release_slot: to == Status::Cancelled,
                        },
                        Some(admin),
                        at,
                    )
                    .await?;
            }
        }
    }
    Ok(accounts)
}

/// A history patient's date of birth: spread over the decades.
fn history_birth_date(i: usize) -> jiff::civil::Date {
    let n = i16::try_from(i).unwrap_or(0);
    jiff::civil::Date::new(1950 + n * 4, 1 + (n % 9) as i8, 10 + (n % 10) as i8)
        .unwrap_or(jiff::civil::date(1970, 1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advertised_demo_doctor_is_the_first_one() {
        let (first, last, ..) = DOCTORS[0];
        assert_eq!(email_of(first, last), FIRST_DOCTOR_EMAIL);
    }
}
