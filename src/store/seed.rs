//! Bulk loading of the load tool's big databases: the SQL behind
//! `medimeet-load seed` (and the seeded patients it logs in as), kept here with
//! the rest. The checks it runs afterwards are in [`super::checks`].
//!
//! Nothing in the server calls this module. The seed writes straight into the
//! tables (multi-row INSERTs on SQLite, `COPY` on PostgreSQL, inside big
//! transactions), with every constraint of the schema in force: the no-overlap
//! trigger or exclusion constraint, the one-visit-a-day index, foreign keys.
//! It never relies on them to sort out its own data: the times are
//! non-overlapping by construction (see [`SeedPlan`]).

use super::{Result, Store, begin_write, on_read, on_write};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use sqlx::QueryBuilder;
use std::fmt::Write as _;

/// The password of every seeded account (test data, never a real clinic's).
pub const SEED_PASSWORD: &str = "seeded-account-pass";
/// Seeded patients' emails end with this, which is how the load tool finds them.
pub const SEED_EMAIL_DOMAIN: &str = "seed.medimeet.test";

const SPECIALTIES: &[&str] = &[
    "Cardiology",
    "Dermatology",
    "Endocrinology",
    "General Practice",
    "Neurology",
    "Pediatrics",
    "Psychiatry",
    "Orthopedics",
];
const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jun", "Kemi", "Lea",
];
const LAST_NAMES: &[&str] = &[
    "Adeyemi", "Brandt", "Costa", "Dlamini", "Eriksen", "Fischer", "Gupta", "Horvat", "Ito",
    "Jansen", "Kowalski", "Lopez",
];
/// Valid North American area codes for seeded phones (the load tool registers
/// its own patients under other area codes, so the two never collide).
const SEED_AREAS: &[u32] = &[212, 213, 312, 415, 617, 718, 202, 305, 404, 503];

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedSpec {
    pub doctors: u64,
    pub patients: u64,
    pub appointments: u64,
    /// Appointments span `[today - days_back, today + days_ahead)`.
    pub days_back: i64,
    pub days_ahead: i64,
    /// "Now" in unix seconds: visits before it are past (completed, no-show or
    /// cancelled), after it booked or cancelled.
    pub now: i64,
    /// The PHC hash stored for every seeded account (of [`SEED_PASSWORD`]).
    pub password_hash: String,
    /// Working intervals of a day, minutes `[start, end)` in the doctor's zone.
    pub hours: Vec<(i32, i32)>,
    /// Working days, 1 = Monday .. 7 = Sunday.
    pub weekdays: Vec<i32>,
    pub visit_minutes: i32,
    /// Doctors get these zones in turn.
    pub time_zones: Vec<String>,
    /// Rows per transaction (and per COPY) for the big tables.
    pub chunk_rows: usize,
}

/// One bookable slot of the grid all doctors of a zone share.
#[derive(Debug, Clone)]
struct GridSlot {
    start_at: i64,
    end_at: i64,
    local_date: String,
}

/// A checked [`SeedSpec`] with its slot grids: per zone, every slot of the
/// working hours over the whole span, in time order, pairwise disjoint.
///
/// Doctor `j` of a zone with a grid of `T` slots gets `n` appointments at grid
/// indexes `k * T / n + r` (`r < T / n`), strictly increasing, so a doctor's
/// visits never overlap. The patient of a doctor's `k`-th visit is
/// `(j * n + k) mod P`: the same patient comes back to the same doctor only
/// every `P` visits, which the plan checks is always another day, so the
/// one-visit-a-day rule holds too.
#[derive(Debug)]
pub struct SeedPlan {
    spec: SeedSpec,
    zones: Vec<(String, Vec<GridSlot>)>,
}

impl SeedSpec {
    /// Checks the numbers fit the schema's rules and builds the slot grids.
    pub fn plan(self) -> Result<SeedPlan, String> {
        if self.time_zones.is_empty() {
            return Err("at least one time zone is needed".into());
        }
        if !(5..=240).contains(&self.visit_minutes) {
            return Err("visit minutes must be between 5 and 240".into());
        }
        if self.hours.is_empty() || self.weekdays.is_empty() {
            return Err("working hours and days are needed".into());
        }
        for &(s, e) in &self.hours {
            if !(0 <= s && s < e && e <= 1440) {
                return Err(format!("bad working interval {s}-{e}"));
            }
        }
        if self.weekdays.iter().any(|d| !(1..=7).contains(d)) {
            return Err("weekdays are 1 (Monday) to 7 (Sunday)".into());
        }
        if self.appointments > 0 && (self.doctors == 0 || self.patients == 0) {
            return Err("appointments need doctors and patients".into());
        }
        if self.chunk_rows == 0 {
            return Err("chunk rows must be positive".into());
        }
        let today = TimeZone::UTC
            .to_datetime(Timestamp::from_second(self.now).map_err(|e| e.to_string())?)
            .date();
        let mut zones = Vec::new();
        for name in &self.time_zones {
            let tz = TimeZone::get(name).map_err(|e| format!("time zone {name}: {e}"))?;
            let grid = grid(&self, &tz, today)?;
            zones.push((name.clone(), grid));
        }
        let slots_per_day: u64 = self
            .hours
            .iter()
            .map(|&(s, e)| u64::try_from((e - s) / self.visit_minutes).unwrap_or(0))
            .sum();
        if self.doctors > 0 && self.appointments > 0 {
            let per_doctor = self.appointments.div_ceil(self.doctors);
            for (name, g) in &zones {
                let t = g.len() as u64;
                if per_doctor > t {
                    return Err(format!(
                        "{per_doctor} appointments per doctor do not fit the {t} slots of the span in {name}"
                    ));
                }
                // A patient comes back to a doctor every P visits, P * (T / n)
                // grid slots later: that must be another day.
                if per_doctor > self.patients && self.patients * (t / per_doctor) <= slots_per_day {
                    return Err(format!(
                        "too few patients: with {per_doctor} visits per doctor a patient would see \
                         the same doctor twice a day; use at least {} patients",
                        (slots_per_day + 1) * per_doctor / t.max(1) + 1
                    ));
                }
            }
        }
        Ok(SeedPlan { spec: self, zones })
    }
}

/// Every slot of the working hours in `tz` over the span; local times that do
/// not exist or exist twice (DST) are left out, so the grid is disjoint.
fn grid(spec: &SeedSpec, tz: &TimeZone, today: Date) -> Result<Vec<GridSlot>, String> {
    let first = today
        .checked_sub(SignedDuration::from_hours(24 * spec.days_back))
        .map_err(|e| e.to_string())?;
    let days = spec.days_back + spec.days_ahead;
    let visit = i64::from(spec.visit_minutes) * 60;
    let mut out = Vec::new();
    for d in 0..days {
        let date = first
            .checked_add(SignedDuration::from_hours(24 * d))
            .map_err(|e| e.to_string())?;
        let wd = i32::from(date.weekday().to_monday_one_offset());
        if !spec.weekdays.contains(&wd) {
            continue;
        }
        let local_date = date.to_string();
        let mut hours = spec.hours.clone();
        hours.sort_unstable();
        for (s, e) in hours {
            let mut m = s;
            while m + spec.visit_minutes <= e {
                let start = local_instant(tz, date, m);
                let end = local_instant(tz, date, m + spec.visit_minutes);
                if let (Some(start), Some(end)) = (start, end)
                    && end - start == visit
                    && out.last().is_none_or(|l: &GridSlot| l.end_at <= start)
                {
                    out.push(GridSlot {
                        start_at: start,
                        end_at: end,
                        local_date: local_date.clone(),
                    });
                }
                m += spec.visit_minutes;
            }
        }
    }
    Ok(out)
}

/// Unix seconds of a wall-clock minute of `date` in `tz` (1440 = next midnight);
/// `None` if that time is skipped or repeated by a DST change.
fn local_instant(tz: &TimeZone, date: Date, minute: i32) -> Option<i64> {
    let dt = date.to_datetime(jiff::civil::Time::midnight());
    let dt = dt
        .checked_add(SignedDuration::from_mins(i64::from(minute)))
        .ok()?;
    let ts = tz.to_ambiguous_timestamp(dt).unambiguous().ok()?;
    Some(ts.as_second())
}

/// What a seed wrote.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub doctors: u64,
    pub patients: u64,
    pub appointments: u64,
    pub first_doctor_id: i64,
    pub first_patient_id: i64,
}

/// A value of a generated row.
#[derive(Debug, Clone)]
enum Val {
    I(i64),
    T(String),
    S(&'static str),
    B(bool),
    Null,
}

/// Rows for one table, written in one statement family.
struct Batch {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Val>>,
}

impl Batch {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Self {
            table,
            columns,
            rows: Vec::new(),
        }
    }
}

const ACCOUNT_COLS: &[&str] = &[
    "id",
    "role",
    "login",
    "password_hash",
    "active",
    "created_at",
];
const DOCTOR_COLS: &[&str] = &[
    "id",
    "account_id",
    "first_name",
    "last_name",
    "specialty",
    "experience_years",
    "timezone",
    "visit_minutes",
    "buffer_minutes",
    "fee_cents",
    "active",
    "created_at",
    "updated_at",
];
const HOURS_COLS: &[&str] = &["doctor_id", "weekday", "start_minute", "end_minute"];
const PATIENT_COLS: &[&str] = &[
    "id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "date_of_birth",
    "created_at",
    "updated_at",
];
const SLOT_COLS: &[&str] = &[
    "id",
    "doctor_id",
    "start_at",
    "end_at",
    "kind",
    "released_at",
    "created_at",
];
const APPOINTMENT_COLS: &[&str] = &[
    "id",
    "doctor_id",
    "patient_id",
    "slot_id",
    "start_at",
    "end_at",
    "local_date",
    "status",
    "reason",
    "cancel_reason",
    "cancelled_by",
    "payment_status",
    "created_at",
    "updated_at",
];

/// A cheap, deterministic mix of two numbers (splitmix64), for statuses.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<T: Copy>(list: &[T], i: u64) -> T {
    list[usize::try_from(i % list.len() as u64).unwrap_or(0)]
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The E.164 phone of a seeded patient: unique because the id is.
pub fn seed_phone(patient_id: i64) -> String {
    let n = u64::try_from(patient_id).unwrap_or(0);
    let area = pick(SEED_AREAS, n / 8_000_000);
    format!("+1{area}{:07}", 2_000_000 + n % 8_000_000)
}

/// Escapes a value for PostgreSQL's COPY text format.
fn copy_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

impl Store {
    /// The highest id of a table (0 if empty).
    async fn max_id(&self, table: &'static str) -> Result<i64> {
        let sql = match table {
            "accounts" => "SELECT COALESCE(MAX(id), 0) FROM accounts",
            "doctors" => "SELECT COALESCE(MAX(id), 0) FROM doctors",
            "patients" => "SELECT COALESCE(MAX(id), 0) FROM patients",
            "slots" => "SELECT COALESCE(MAX(id), 0) FROM slots",
            _ => "SELECT COALESCE(MAX(id), 0) FROM appointments",
        };
        on_write!(self, pool => {
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await?;
            Ok(n)
        })
    }

    /// Writes batches in one transaction, in order (parents before children).
    async fn write_batches(&self, batches: &mut [Batch]) -> Result<()> {
        match self {
            Store::Sqlite { write, .. } => {
                let mut tx = begin_write!(write).await?;
                for b in batches.iter_mut() {
                    let per_statement = (30_000 / b.columns.len()).clamp(1, 1000);
                    let rows = std::mem::take(&mut b.rows);
                    let mut rows = rows.into_iter().peekable();
                    while rows.peek().is_some() {
                        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per_statement).collect();
                        let mut q = QueryBuilder::<sqlx::Sqlite>::new(format!(
                            "INSERT INTO {} ({}) ",
                            b.table,
                            b.columns.join(", ")
                        ));
                        q.push_values(chunk, |mut row, vals| {
                            for v in vals {
                                match v {
                                    Val::I(x) => row.push_bind(x),
                                    Val::T(s) => row.push_bind(s),
                                    Val::S(s) => row.push_bind(s),
                                    Val::B(x) => row.push_bind(x),
                                    Val::Null => row.push_bind(None::<i64>),
                                };
                            }
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for b in batches.iter_mut() {
                    if b.rows.is_empty() {
                        continue;
                    }
                    let mut data = String::with_capacity(b.rows.len() * 64);
                    for row in std::mem::take(&mut b.rows) {
                        for (i, v) in row.into_iter().enumerate() {
                            if i > 0 {
                                data.push('\t');
                            }
                            match v {
                                Val::I(x) => {
                                    let _ = write!(data, "{x}");
                                }
                                Val::T(s) => copy_text(&mut data, &s),
                                Val::S(s) => copy_text(&mut data, s),
                                Val::B(x) => data.push(if x { 't' } else { 'f' }),
                                Val::Null => data.push_str("\\N"),
                            }
                        }
                        data.push('\n');
                    }
                    let stmt = format!("COPY {} ({}) FROM STDIN", b.table, b.columns.join(", "));
                    let mut copy = tx.copy_in_raw(&stmt).await?;
                    // Send in pieces well below the protocol's message limit.
                    for piece in data.as_bytes().chunks(1 << 20) {
                        copy.send(piece).await?;
                    }
                    copy.finish().await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Fills the database per `plan`, after whatever it holds already; calls
    /// `progress(table, rows so far)` after each transaction.
    pub async fn seed(
        &self,
        plan: &SeedPlan,
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> Result<SeedReport> {
        let spec = &plan.spec;
        let now = spec.now;
        let account_base = self.max_id("accounts").await?;
        let doctor_base = self.max_id("doctors").await?;
        let patient_base = self.max_id("patients").await?;
        let slot_base = self.max_id("slots").await?;
        let appointment_base = self.max_id("appointments").await?;
        let chunk = spec.chunk_rows;

        // Doctors, their accounts and weekly hours.
        let mut next_account = account_base;
        let mut done = 0u64;
        while done < spec.doctors {
            let n = (spec.doctors - done).min(chunk as u64);
            let mut accounts = Batch::new("accounts", ACCOUNT_COLS);
            let mut doctors = Batch::new("doctors", DOCTOR_COLS);
            let mut hours = Batch::new("working_hours", HOURS_COLS);
            for j in done..done + n {
                next_account += 1;
                let id = doctor_base + to_i64(j) + 1;
                accounts.rows.push(vec![
                    Val::I(next_account),
                    Val::S("doctor"),
                    Val::T(format!("doctor{id}@{SEED_EMAIL_DOMAIN}")),
                    Val::T(spec.password_hash.clone()),
                    Val::B(true),
                    Val::I(now),
                ]);
                let (zone, _) = &plan.zones[usize::try_from(j).unwrap_or(0) % plan.zones.len()];
                doctors.rows.push(vec![
                    Val::I(id),
                    Val::I(next_account),
                    Val::S(pick(FIRST_NAMES, j)),
                    Val::S(pick(LAST_NAMES, j / 7)),
                    Val::S(pick(SPECIALTIES, j / 3)),
                    Val::I(to_i64(j % 35) + 1),
                    Val::T(zone.clone()),
                    Val::I(i64::from(spec.visit_minutes)),
                    Val::I(0),
                    Val::I(5000 + to_i64(j % 20) * 500),
                    Val::B(true),
                    Val::I(now),
                    Val::I(now),
                ]);
                for &wd in &spec.weekdays {
                    for &(s, e) in &spec.hours {
                        hours.rows.push(vec![
                            Val::I(id),
                            Val::I(i64::from(wd)),
                            Val::I(i64::from(s)),
                            Val::I(i64::from(e)),
                        ]);
                    }
                }
            }
            self.write_batches(&mut [accounts, doctors, hours]).await?;
            done += n;
            progress("doctors", done);
        }

        // Patients and their accounts.
        let mut done = 0u64;
        while done < spec.patients {
            let n = (spec.patients - done).min(chunk as u64);
            let mut accounts = Batch::new("accounts", ACCOUNT_COLS);
            let mut patients = Batch::new("patients", PATIENT_COLS);
            for i in done..done + n {
                next_account += 1;
                let id = patient_base + to_i64(i) + 1;
                let phone = seed_phone(id);
                accounts.rows.push(vec![
                    Val::I(next_account),
                    Val::S("patient"),
                    Val::T(phone.clone()),
                    Val::T(spec.password_hash.clone()),
                    Val::B(true),
                    Val::I(now),
                ]);
                let born = 1940 + i % 65;
                let month = 1 + i % 12;
                let day = 1 + i % 28;
                patients.rows.push(vec![
                    Val::I(id),
                    Val::I(next_account),
                    Val::S(pick(FIRST_NAMES, i)),
                    Val::S(pick(LAST_NAMES, i / 12)),
                    Val::T(phone),
                    Val::T(format!("patient{id}@{SEED_EMAIL_DOMAIN}")),
                    Val::T(format!("{born:04}-{month:02}-{day:02}")),
                    Val::I(now),
                    Val::I(now),
                ]);
            }
            self.write_batches(&mut [accounts, patients]).await?;
            done += n;
            progress("patients", done);
        }

        // Taken slots and their appointments, doctor by doctor.
        let mut slot_id = slot_base;
        let mut appointment_id = appointment_base;
        let mut written = 0u64;
        let mut slots = Batch::new("slots", SLOT_COLS);
        let mut appointments = Batch::new("appointments", APPOINTMENT_COLS);
        let base_n = spec.appointments.checked_div(spec.doctors).unwrap_or(0);
        let extra = spec.appointments.checked_rem(spec.doctors).unwrap_or(0);
        let patient_account_base = account_base + to_i64(spec.doctors);
        for j in 0..spec.doctors {
            let n = base_n + u64::from(j < extra);
            if n == 0 {
                continue;
            }
            let doctor_id = doctor_base + to_i64(j) + 1;
            let (_, grid) = &plan.zones[usize::try_from(j).unwrap_or(0) % plan.zones.len()];
            let t = grid.len() as u64;
            let gap = (t / n).max(1);
            let r = mix(j, 0) % gap;
            for k in 0..n {
                let g = &grid[usize::try_from(k * t / n + r).unwrap_or(0)];
                let p = (j * base_n.max(1) + k) % spec.patients;
                let patient_id = patient_base + to_i64(p) + 1;
                let patient_account = patient_account_base + to_i64(p) + 1;
                let h = mix(j, k) % 100;
                let past = g.start_at <= now;
                let (status, payment) = match (past, h) {
                    (true, 0..80) => ("completed", "paid"),
                    (true, 80..88) => ("no_show", "unpaid"),
                    (false, 0..90) => ("booked", "unpaid"),
                    _ => ("cancelled", "unpaid"),
                };
                let created = (g.start_at - 14 * 86_400).min(now);
                let cancelled = status == "cancelled";
                let released = cancelled.then(|| (g.start_at - 86_400).clamp(created, now));
                slot_id += 1;
                appointment_id += 1;
                slots.rows.push(vec![
                    Val::I(slot_id),
                    Val::I(doctor_id),
                    Val::I(g.start_at),
                    Val::I(g.end_at),
                    Val::S("booked"),
                    released.map_or(Val::Null, Val::I),
                    Val::I(created),
                ]);
                appointments.rows.push(vec![
                    Val::I(appointment_id),
                    Val::I(doctor_id),
                    Val::I(patient_id),
                    Val::I(slot_id),
                    Val::I(g.start_at),
                    Val::I(g.end_at),
                    Val::T(g.local_date.clone()),
                    Val::S(status),
                    Val::S("Seeded visit"),
                    if cancelled {
                        Val::S("Seeded cancellation")
                    } else {
                        Val::Null
                    },
                    if cancelled {
                        Val::I(patient_account)
                    } else {
                        Val::Null
                    },
                    Val::S(payment),
                    Val::I(created),
                    Val::I(released.unwrap_or(created)),
                ]);
            }
            if appointments.rows.len() >= chunk || j + 1 == spec.doctors {
                let n = appointments.rows.len() as u64;
                let mut batch = [
                    std::mem::replace(&mut slots, Batch::new("slots", SLOT_COLS)),
                    std::mem::replace(
                        &mut appointments,
                        Batch::new("appointments", APPOINTMENT_COLS),
                    ),
                ];
                self.write_batches(&mut batch).await?;
                written += n;
                progress("appointments", written);
            }
        }

        self.after_bulk_load().await?;
        Ok(SeedReport {
            doctors: spec.doctors,
            patients: spec.patients,
            appointments: written,
            first_doctor_id: doctor_base + 1,
            first_patient_id: patient_base + 1,
        })
    }

    /// After explicit ids: moves PostgreSQL's identity sequences past them; then
    /// refreshes the planner's statistics on both backends (and vacuums on
    /// PostgreSQL).
    async fn after_bulk_load(&self) -> Result<()> {
        match self {
            Store::Sqlite { write, .. } => {
                sqlx::query("ANALYZE").execute(write).await?;
            }
            Store::Postgres(pool) => {
                for sql in [
                    "SELECT setval(pg_get_serial_sequence('accounts', 'id'), GREATEST((SELECT MAX(id) FROM accounts), 1))",
                    "SELECT setval(pg_get_serial_sequence('doctors', 'id'), GREATEST((SELECT MAX(id) FROM doctors), 1))",
                    "SELECT setval(pg_get_serial_sequence('patients', 'id'), GREATEST((SELECT MAX(id) FROM patients), 1))",
                    "SELECT setval(pg_get_serial_sequence('slots', 'id'), GREATEST((SELECT MAX(id) FROM slots), 1))",
                    "SELECT setval(pg_get_serial_sequence('appointments', 'id'), GREATEST((SELECT MAX(id) FROM appointments), 1))",
                ] {
                    sqlx::query(sql).execute(pool).await?;
                }
                // Sets hint bits and the visibility map too, so the first
                // readers do not pay for the load.
                sqlx::query("VACUUM (ANALYZE)").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Up to `n` seeded patients that have visits: `(patient id, phone)`.
    pub async fn sample_seeded_patients(&self, n: i64) -> Result<Vec<(i64, String)>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, (i64, String)>(
                "SELECT p.id, p.phone FROM patients p \
                 WHERE p.email LIKE $1 \
                   AND EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = p.id) \
                 ORDER BY p.id LIMIT $2",
            )
            .bind(format!("%@{SEED_EMAIL_DOMAIN}"))
            .bind(n)
            .fetch_all(pool)
            .await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SeedSpec {
        SeedSpec {
            doctors: 3,
            patients: 20,
            appointments: 90,
            days_back: 30,
            days_ahead: 30,
            now: 1_790_000_000,
            password_hash: "x".into(),
            hours: vec![(8 * 60, 12 * 60), (13 * 60, 17 * 60)],
            weekdays: vec![1, 2, 3, 4, 5],
            visit_minutes: 30,
            time_zones: vec!["Europe/Berlin".into(), "America/New_York".into()],
            chunk_rows: 1000,
        }
    }

    #[test]
    fn grids_are_disjoint_and_in_working_hours() {
        let plan = spec().plan().unwrap();
        for (_, g) in &plan.zones {
            assert!(g.len() > 300, "{}", g.len());
            for w in g.windows(2) {
                assert!(w[0].end_at <= w[1].start_at);
                assert_eq!(w[0].end_at - w[0].start_at, 1800);
            }
        }
    }

    #[test]
    fn dst_days_skip_missing_and_repeated_times() {
        let mut s = spec();
        s.hours = vec![(0, 1440)];
        s.weekdays = (1..=7).collect();
        s.time_zones = vec!["Europe/Berlin".into()];
        s.now = Timestamp::from_second(0)
            .unwrap()
            .checked_add(SignedDuration::from_hours(24 * 20_540))
            .unwrap()
            .as_second();
        s.days_back = 365;
        s.days_ahead = 365;
        let plan = s.plan().unwrap();
        let g = &plan.zones[0].1;
        for w in g.windows(2) {
            assert!(w[0].end_at <= w[1].start_at);
        }
    }

    #[test]
    fn too_few_patients_or_slots_are_refused() {
        let mut s = spec();
        s.patients = 1;
        s.appointments = 3 * 200;
        assert!(s.plan().is_err());
        let mut s = spec();
        s.appointments = 3 * 100_000;
        s.patients = 1_000_000;
        assert!(s.plan().is_err());
    }

    #[test]
    fn seeded_phones_are_distinct_and_valid_looking() {
        let a = seed_phone(1);
        let b = seed_phone(8_000_001);
        assert_ne!(a, b);
        assert_eq!(a.len(), 12);
        assert!(a.starts_with("+1"));
    }

    #[test]
    fn copy_text_escapes_separators() {
        let mut s = String::new();
        copy_text(&mut s, "a\tb\\c\nd");
        assert_eq!(s, "a\\tb\\\\c\\nd");
    }
}
