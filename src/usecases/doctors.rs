//! Doctors: the public directory, onboarding and editing by admins.

use super::schedule::{OnAffected, affected_by, guarded};
use super::{Caller, Clinic, Error, Result, Thing};
use crate::domain::doctor::Doctor;
use crate::domain::ids::DoctorId;
use crate::domain::person::{
    Email, Errors, FieldError, Name, Password, parse_fee, parse_specialty,
};
use crate::domain::schedule::change::wall_clock_changes;
use crate::domain::schedule::local_date;
use crate::store::{
    Changed, DoctorFilter, DoctorPatch, GuardView, NewDoctor, ScheduleChange, StoreError, Verdict,
};
use jiff::tz::TimeZone;

/// Years of experience a doctor may have on record.
pub const EXPERIENCE_YEARS: std::ops::RangeInclusive<i32> = 0..=80;
/// Visit lengths a doctor may set, minutes.
pub const VISIT_MINUTES: std::ops::RangeInclusive<i32> = 5..=240;
/// The visit length of a newly onboarded doctor, minutes.
pub const DEFAULT_VISIT_MINUTES: i32 = 30;

/// A doctor the caller may see: active ones for everyone, inactive ones only
/// for admins and the doctor.
pub async fn visible(clinic: &Clinic, caller: &Caller, id: DoctorId) -> Result<Doctor> {
    match clinic.store.get_doctor(id).await? {
        Some(d) if caller.may_see_doctor(id, d.active) => Ok(d),
        _ => Err(Error::NotFound(Thing::Doctor)),
    }
}

/// A doctor the caller may change: `NotFound` if they cannot see it,
/// `Unauthenticated`/`Forbidden` if they can see it but not change it.
pub(crate) async fn managed(clinic: &Clinic, caller: &Caller, id: DoctorId) -> Result<Doctor> {
    let d = visible(clinic, caller, id).await?;
    if caller.may_manage_doctor(id) {
        Ok(d)
    } else if caller.is_logged_in() {
        Err(Error::Forbidden(
            "Only this doctor or an admin can do that.",
        ))
    } else {
        Err(Error::Unauthenticated)
    }
}

/// A search of the directory.
#[derive(Debug, Clone, Default)]
pub struct DoctorQuery {
    /// Exact specialty, any case.
    pub specialty: Option<String>,
    /// Part of the doctor's name.
    pub q: Option<String>,
    /// Admins only: include deactivated doctors.
    pub include_inactive: bool,
    /// Start after this doctor (the last of the previous page).
    pub after: Option<DoctorId>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// One page of doctors and whether there are more.
#[derive(Debug, Clone)]
pub struct DoctorPage {
    pub items: Vec<Doctor>,
    pub more: bool,
}

fn trimmed(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The doctors matching a search (inactive ones only for admins who ask), by id.
pub async fn find(clinic: &Clinic, caller: &Caller, q: &DoctorQuery) -> Result<DoctorPage> {
    let limit = super::page_limit(q.limit)?;
    let filter = DoctorFilter {
        specialty: trimmed(q.specialty.as_deref()),
        q: trimmed(q.q.as_deref()),
        include_inactive: caller.sees_everything() && q.include_inactive,
    };
    let found = clinic
        .store
        .list_doctors(&filter, q.after, limit + 1)
        .await?;
    let (items, more) = super::first_page(found, limit);
    Ok(DoctorPage { items, more })
}

/// Every doctor, active or not, by id (admins).
pub async fn all(clinic: &Clinic, caller: &Caller) -> Result<Vec<Doctor>> {
    require_admin(caller)?;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = find(
            clinic,
            caller,
            &DoctorQuery {
                include_inactive: true,
                after,
                limit: Some(200),
                ..DoctorQuery::default()
            },
        )
        .await?;
        after = page.items.last().map(|d| d.id);
        out.extend(page.items);
        if !page.more {
            return Ok(out);
        }
    }
}

/// Specialties practised by active doctors, with how many practise each.
pub async fn specialties(clinic: &Clinic) -> Result<Vec<(String, i64)>> {
    Ok(clinic.store.specialties().await?)
}

/// Whether the caller sees the doctor's login (the doctor and admins).
pub fn shows_login(caller: &Caller, id: DoctorId) -> bool {
    caller.may_manage_doctor(id)
}

/// A new doctor as an admin typed them.
#[derive(Clone)]
pub struct NewDoctorForm {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub specialty: String,
    pub experience_years: i32,
    pub timezone: String,
    /// Default [`DEFAULT_VISIT_MINUTES`].
    pub visit_minutes: Option<i32>,
    /// e.g. `"50.00"`.
    pub fee: String,
}

impl std::fmt::Debug for NewDoctorForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDoctorForm").finish_non_exhaustive()
    }
}

/// Changes an admin makes to a doctor; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DoctorChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub specialty: Option<String>,
    pub experience_years: Option<i32>,
    pub timezone: Option<String>,
    pub fee: Option<String>,
    /// `false` deactivates the doctor: hidden from patients, login disabled.
    pub active: Option<bool>,
}

fn parse_timezone(s: &str) -> std::result::Result<String, FieldError> {
    let s = s.trim();
    match TimeZone::get(s) {
        Ok(_) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(FieldError::new(
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        )),
    }
}

fn parse_experience(n: i32) -> std::result::Result<i32, FieldError> {
    if EXPERIENCE_YEARS.contains(&n) {
        Ok(n)
    } else {
        Err(FieldError::new(
            "experience_years",
            "must be between 0 and 80",
        ))
    }
}

fn parse_visit_minutes(n: i32) -> std::result::Result<i32, FieldError> {
    if VISIT_MINUTES.contains(&n) {
        Ok(n)
    } else {
        Err(FieldError::new(
            "visit_minutes",
            "must be between 5 and 240",
        ))
    }
}

pub(crate) fn require_admin(caller: &Caller) -> Result<()> {
    match caller {
        Caller::Admin { .. } | Caller::System => Ok(()),
        Caller::Anonymous => Err(Error::Unauthenticated),
        _ => Err(Error::Forbidden("Only an admin can do that.")),
    }
}

/// Validates every field and creates the doctor with their login (admins).
pub async fn onboard(clinic: &Clinic, caller: &Caller, req: &NewDoctorForm) -> Result<Doctor> {
    require_admin(caller)?;
    let mut errs = Errors::default();
    let email = errs.check(Email::parse("email", &req.email));
    let password = errs.check(Password::parse("password", &req.password));
    let first = errs.check(Name::parse("first_name", &req.first_name));
    let last = errs.check(Name::parse("last_name", &req.last_name));
    let specialty = errs.check(parse_specialty(&req.specialty));
    let experience = errs.check(parse_experience(req.experience_years));
    let tz = errs.check(parse_timezone(&req.timezone));
    let visit = errs.check(parse_visit_minutes(
        req.visit_minutes.unwrap_or(DEFAULT_VISIT_MINUTES),
    ));
    let fee = errs.check(parse_fee(&req.fee));
    let (
        Some(email),
        Some(password),
        Some(first),
        Some(last),
        Some(specialty),
        Some(experience),
        Some(tz),
        Some(visit),
        Some(fee),
    ) = (
        email, password, first, last, specialty, experience, tz, visit, fee,
    )
    else {
        return Err(Error::Invalid(errs.0));
    };
    let hash = super::password_hash(&password).await?;
    let row = clinic
        .store
        .create_doctor(
            NewDoctor {
                email: email.as_str(),
                password_hash: &hash,
                first_name: first.as_str(),
                last_name: last.as_str(),
                specialty: &specialty,
                experience_years: experience,
                timezone: &tz,
                visit_minutes: visit,
                fee_cents: fee,
            },
            caller.account(),
            clinic.now().as_second(),
        )
        .await?;
    tracing::info!(doctor_id = %row.id, "doctor onboarded");
    Ok(row)
}

/// Applies an admin's changes to a doctor (deactivating also ends their
/// sessions). Deactivating affects every future booked visit, a new time
/// zone those whose wall-clock time it changes (decision 0022): see
/// [`OnAffected`]. A new time zone recomputes the stored local dates of the
/// future visits that stay booked, in the same transaction.
pub async fn edit(
    clinic: &Clinic,
    caller: &Caller,
    id: DoctorId,
    req: &DoctorChanges,
    on: &OnAffected,
) -> Result<Doctor> {
    visible(clinic, caller, id).await?;
    require_admin(caller)?;
    let mut errs = Errors::default();
    let patch = DoctorPatch {
        first_name: req
            .first_name
            .as_deref()
            .and_then(|s| errs.check(Name::parse("first_name", s)))
            .map(Name::into_string),
        last_name: req
            .last_name
            .as_deref()
            .and_then(|s| errs.check(Name::parse("last_name", s)))
            .map(Name::into_string),
        specialty: req
            .specialty
            .as_deref()
            .and_then(|s| errs.check(parse_specialty(s))),
        experience_years: req
            .experience_years
            .and_then(|n| errs.check(parse_experience(n))),
        timezone: req
            .timezone
            .as_deref()
            .and_then(|s| errs.check(parse_timezone(s))),
        fee_cents: req.fee.as_deref().and_then(|s| errs.check(parse_fee(s))),
        active: req.active,
    };
    if !errs.is_empty() {
        return Err(Error::Invalid(errs.0));
    }
    let deactivating = patch.active == Some(false);
    let new_zone = match patch.timezone.as_deref() {
        Some(z) => Some(TimeZone::get(z).map_err(|e| Error::internal(&e))?),
        None => None,
    };
    let judge = |view: &GuardView| -> crate::store::Result<Verdict> {
        if deactivating && view.active {
            return Ok(Verdict {
                affected: view.visits.iter().map(|v| v.id).collect(),
                local_dates: Vec::new(),
            });
        }
        let Some(new) = new_zone
            .as_ref()
            .filter(|_| patch.timezone.as_deref() != Some(view.timezone.as_str()))
        else {
            return Ok(Verdict::default());
        };
        let old =
            TimeZone::get(&view.timezone).map_err(|_| StoreError::corrupt("stored time zone"))?;
        Ok(Verdict {
            affected: affected_by(view, |p| wall_clock_changes(&old, new, p)),
            local_dates: view
                .visits
                .iter()
                .map(|v| (v.id, local_date(v.start_at, new)))
                .collect(),
        })
    };
    match guarded(
        clinic,
        caller,
        id,
        ScheduleChange::Doctor(&patch),
        &judge,
        on,
    )
    .await?
    {
        Changed::Doctor(d) => Ok(d),
        _ => Err(Error::internal(&"doctor change wrote something else")),
    }
}
