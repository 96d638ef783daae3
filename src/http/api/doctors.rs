//! Doctors: the public directory, onboarding by admins, working hours, time off
//! and free slots.

use super::{Page, Paging, page, parse_instant, rfc3339};
use crate::auth;
use crate::domain::person::{
    Email, Errors, FieldError, Name, Password, format_fee, parse_fee, parse_specialty,
};
use crate::domain::schedule::{
    self, Availability, DateOverride, DayInterval, MinuteOfDay, Period, SlotWindow, WeeklyInterval,
};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::store::{
    AvailabilityRows, DoctorFilter, DoctorPatch, DoctorRow, HoursRow, NewDoctor, OverrideRow,
    TimeOffRow,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_doctors, create_doctor))
        .routes(routes!(get_doctor, update_doctor))
        .routes(routes!(specialties))
        .routes(routes!(get_availability, put_availability))
        .routes(routes!(list_time_off, add_time_off))
        .routes(routes!(delete_time_off))
        .routes(routes!(free_slots))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoctorView {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub specialty: String,
    pub experience_years: i32,
    /// IANA time zone of the doctor's working hours.
    pub timezone: String,
    pub visit_minutes: i32,
    pub buffer_minutes: i32,
    /// Fee per visit, e.g. `"50.00"`.
    pub fee: String,
    pub active: bool,
    /// The doctor's login; shown to the doctor and admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl DoctorView {
    pub fn from_row(d: DoctorRow, show_login: bool) -> Self {
        Self {
            id: d.id,
            first_name: d.first_name,
            last_name: d.last_name,
            specialty: d.specialty,
            experience_years: d.experience_years,
            timezone: d.timezone,
            visit_minutes: d.visit_minutes,
            buffer_minutes: d.buffer_minutes,
            fee: format_fee(d.fee_cents),
            active: d.active,
            email: show_login.then_some(d.login),
        }
    }
}

/// Whether the caller may manage this doctor (the doctor themselves or an admin).
pub fn can_manage(user: Option<&CurrentUser>, doctor_id: i64) -> bool {
    user.is_some_and(|u| u.is_admin() || u.is_doctor(doctor_id))
}

/// A doctor the caller may see: active ones for everyone, inactive ones only for
/// admins and the doctor.
pub async fn visible_doctor(
    state: &AppState,
    user: Option<&CurrentUser>,
    id: i64,
) -> ApiResult<DoctorRow> {
    match state.store.get_doctor(id).await? {
        Some(d) if d.active || can_manage(user, id) => Ok(d),
        _ => Err(ApiError::not_found("doctor")),
    }
}

/// A doctor the caller may change: 404 if they cannot see it, 401/403 if they
/// can see it but not change it.
async fn managed_doctor(
    state: &AppState,
    user: Option<&CurrentUser>,
    id: i64,
) -> ApiResult<DoctorRow> {
    let d = visible_doctor(state, user, id).await?;
    match user {
        None => Err(ApiError::unauthorized()),
        Some(_) if can_manage(user, id) => Ok(d),
        Some(_) => Err(ApiError::forbidden(
            "Only this doctor or an admin can do that.",
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoctorQuery {
    /// Exact specialty, any case.
    pub specialty: Option<String>,
    /// Part of the doctor's name.
    pub q: Option<String>,
    /// Admins only: include deactivated doctors.
    pub include_inactive: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Find doctors (public).
#[utoipa::path(
    get, path = "/doctors", tag = "doctors",
    params(DoctorQuery),
    responses(
        (status = 200, body = Page<DoctorView>),
    )
)]
pub async fn list_doctors(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiQuery(q): ApiQuery<DoctorQuery>,
) -> ApiResult<Json<Page<DoctorView>>> {
    let admin = user.as_ref().is_some_and(CurrentUser::is_admin);
    let (rows, limit) = find_doctors(&state, user.as_ref(), q).await?;
    Ok(Json(page(
        rows,
        limit,
        |d| vec![d.id],
        |d| DoctorView::from_row(d, admin),
    )))
}

/// The doctors matching a search (inactive ones only for admins who ask), by
/// id. Returns up to `limit + 1` rows (the extra one only says there is more)
/// and `limit`. Shared by the API and the pages.
pub async fn find_doctors(
    state: &AppState,
    user: Option<&CurrentUser>,
    q: DoctorQuery,
) -> ApiResult<(Vec<DoctorRow>, i64)> {
    let paging = Paging {
        cursor: q.cursor.clone(),
        limit: q.limit,
    };
    let limit = paging.limit()?;
    let after = paging
        .cursor()?
        .and_then(|c| c.first().copied())
        .unwrap_or(0);
    let admin = user.is_some_and(CurrentUser::is_admin);
    let filter = DoctorFilter {
        specialty: q
            .specialty
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_owned()),
        q: q.q
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_owned()),
        include_inactive: admin && q.include_inactive.unwrap_or(false),
    };
    let rows = state.store.list_doctors(&filter, after, limit + 1).await?;
    Ok((rows, limit))
}

/// One doctor (public).
#[utoipa::path(
    get, path = "/doctors/{id}", tag = "doctors",
    params(("id" = i64, Path, description = "Doctor id")),
    responses(
        (status = 200, body = DoctorView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_doctor(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DoctorView>> {
    let d = visible_doctor(&state, user.as_ref(), id).await?;
    Ok(Json(DoctorView::from_row(d, can_manage(user.as_ref(), id))))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Specialty {
    pub name: String,
    pub doctors: i64,
}

/// Specialties practised by active doctors (public).
#[utoipa::path(
    get, path = "/specialties", tag = "doctors",
    responses((status = 200, body = Page<Specialty>))
)]
pub async fn specialties(State(state): State<AppState>) -> ApiResult<Json<Page<Specialty>>> {
    let items = state
        .store
        .specialties()
        .await?
        .into_iter()
        .map(|(name, doctors)| Specialty { name, doctors })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateDoctor {
    /// The doctor's login.
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub specialty: String,
    pub experience_years: i32,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Default 30.
    pub visit_minutes: Option<i32>,
    /// e.g. `"50.00"`.
    pub fee: String,
}

fn parse_timezone(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    match TimeZone::get(s) {
        Ok(_) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(FieldError::new(
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        )),
    }
}

fn parse_experience(n: i32) -> Result<i32, FieldError> {
    if (0..=80).contains(&n) {
        Ok(n)
    } else {
        Err(FieldError::new(
            "experience_years",
            "must be between 0 and 80",
        ))
    }
}

fn parse_visit_minutes(n: i32) -> Result<i32, FieldError> {
    if (5..=240).contains(&n) {
        Ok(n)
    } else {
        Err(FieldError::new(
            "visit_minutes",
            "must be between 5 and 240",
        ))
    }
}

fn require_admin(user: &CurrentUser) -> ApiResult<()> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden("Only an admin can do that."))
    }
}

/// Onboard a doctor with their login (admins).
#[utoipa::path(
    post, path = "/doctors", tag = "admin",
    security(("bearer" = [])),
    request_body = CreateDoctor,
    responses(
        (status = 201, body = DoctorView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email already used (`already_registered`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_doctor(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<CreateDoctor>,
) -> ApiResult<(StatusCode, Json<DoctorView>)> {
    let row = onboard_doctor(&state, &user, &req).await?;
    Ok((StatusCode::CREATED, Json(DoctorView::from_row(row, true))))
}

/// Validates every field and creates the doctor with their login (admins
/// only). Shared by the API and the admin pages.
pub async fn onboard_doctor(
    state: &AppState,
    user: &CurrentUser,
    req: &CreateDoctor,
) -> ApiResult<DoctorRow> {
    require_admin(user)?;
    let mut errs = Errors::default();
    let email = errs.check(Email::parse("email", &req.email));
    let password = errs.check(Password::parse("password", &req.password));
    let first = errs.check(Name::parse("first_name", &req.first_name));
    let last = errs.check(Name::parse("last_name", &req.last_name));
    let specialty = errs.check(parse_specialty(&req.specialty));
    let experience = errs.check(parse_experience(req.experience_years));
    let tz = errs.check(parse_timezone(&req.timezone));
    let visit = errs.check(parse_visit_minutes(req.visit_minutes.unwrap_or(30)));
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
        return Err(ApiError::validation(errs.0));
    };
    let hash = auth::hash_password_async(password.expose().to_owned())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let row = state
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
            user.actor(),
            state.clock.now().as_second(),
        )
        .await?;
    tracing::info!(doctor_id = row.id, "doctor onboarded");
    Ok(row)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateDoctor {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub specialty: Option<String>,
    pub experience_years: Option<i32>,
    pub timezone: Option<String>,
    pub fee: Option<String>,
    /// `false` deactivates the doctor: hidden from patients, login disabled.
    pub active: Option<bool>,
}

/// Edit or deactivate a doctor (admins).
#[utoipa::path(
    patch, path = "/doctors/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Doctor id")),
    request_body = UpdateDoctor,
    responses(
        (status = 200, body = DoctorView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_doctor(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateDoctor>,
) -> ApiResult<Json<DoctorView>> {
    let row = edit_doctor(&state, &user, id, &req).await?;
    Ok(Json(DoctorView::from_row(row, true)))
}

/// Applies an admin's changes to a doctor (deactivating also ends their
/// sessions). Shared by the API and the admin pages.
pub async fn edit_doctor(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    req: &UpdateDoctor,
) -> ApiResult<DoctorRow> {
    visible_doctor(state, Some(user), id).await?;
    require_admin(user)?;
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
        return Err(ApiError::validation(errs.0));
    }
    let row = state
        .store
        .update_doctor(id, &patch, user.actor(), state.clock.now().as_second())
        .await?
        .ok_or_else(|| ApiError::not_found("doctor"))?;
    Ok(row)
}

// ---------------------------------------------------------------------------
// Working hours

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoursInterval {
    /// `monday` .. `sunday`.
    pub weekday: String,
    /// `HH:MM`, local to the doctor's time zone.
    pub start: String,
    /// `HH:MM` (`24:00` for midnight at the end of the day).
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OverrideDay {
    /// `YYYY-MM-DD`, the doctor's local date.
    pub date: String,
    /// The hours that day instead of the weekly ones; empty = closed.
    pub intervals: Vec<TimeRange>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AvailabilityDoc {
    pub visit_minutes: i32,
    /// Gap after each visit, minutes.
    #[serde(default)]
    pub buffer_minutes: i32,
    pub weekly: Vec<HoursInterval>,
    #[serde(default)]
    pub overrides: Vec<OverrideDay>,
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn weekday_name(n: i32) -> &'static str {
    let i = usize::try_from(n - 1).unwrap_or(0).min(6);
    WEEKDAYS[i]
}

fn parse_weekday(s: &str) -> Option<i32> {
    let s = s.trim().to_lowercase();
    WEEKDAYS
        .iter()
        .position(|w| *w == s)
        .and_then(|i| i32::try_from(i + 1).ok())
}

fn weekday_of(n: i32) -> Weekday {
    i8::try_from(n)
        .ok()
        .and_then(|n| Weekday::from_monday_one_offset(n).ok())
        .unwrap_or(Weekday::Monday)
}

fn minute(m: Option<i32>) -> Option<MinuteOfDay> {
    m.and_then(|m| u16::try_from(m).ok())
        .and_then(|m| MinuteOfDay::new(m).ok())
}

impl AvailabilityDoc {
    pub fn from_rows(a: &AvailabilityRows) -> Self {
        let hhmm = |m: i32| {
            minute(Some(m))
                .map(MinuteOfDay::to_hhmm)
                .unwrap_or_default()
        };
        let mut overrides: Vec<OverrideDay> = Vec::new();
        for o in &a.overrides {
            if overrides.last().is_none_or(|last| last.date != o.on_date) {
                overrides.push(OverrideDay {
                    date: o.on_date.clone(),
                    intervals: Vec::new(),
                });
            }
            if let (Some(s), Some(e), Some(last)) =
                (o.start_minute, o.end_minute, overrides.last_mut())
            {
                last.intervals.push(TimeRange {
                    start: hhmm(s),
                    end: hhmm(e),
                });
            }
        }
        Self {
            visit_minutes: a.visit_minutes,
            buffer_minutes: a.buffer_minutes,
            weekly: a
                .weekly
                .iter()
                .map(|h| HoursInterval {
                    weekday: weekday_name(h.weekday).to_owned(),
                    start: hhmm(h.start_minute),
                    end: hhmm(h.end_minute),
                })
                .collect(),
            overrides,
        }
    }

    /// Checks the document with the domain rules and returns the rows to store.
    pub fn to_rows(&self) -> Result<AvailabilityRows, Vec<FieldError>> {
        let mut errs = Errors::default();
        let mut weekly = Vec::new();
        let mut domain_weekly = Vec::new();
        for (i, h) in self.weekly.iter().enumerate() {
            let field = format!("weekly[{i}]");
            let Some(wd) = parse_weekday(&h.weekday) else {
                errs.0.push(FieldError::new(
                    format!("{field}.weekday"),
                    "must be monday .. sunday",
                ));
                continue;
            };
            match parse_range(&h.start, &h.end) {
                Ok(iv) => {
                    weekly.push(HoursRow {
                        weekday: wd,
                        start_minute: i32::from(iv.start().get()),
                        end_minute: i32::from(iv.end().get()),
                    });
                    domain_weekly.push(WeeklyInterval {
                        weekday: weekday_of(wd),
                        interval: iv,
                    });
                }
                Err(msg) => errs.0.push(FieldError::new(field, msg)),
            }
        }
        let mut overrides = Vec::new();
        let mut domain_overrides = Vec::new();
        for (i, o) in self.overrides.iter().enumerate() {
            let field = format!("overrides[{i}]");
            let Ok(date) = o.date.trim().parse::<Date>() else {
                errs.0.push(FieldError::new(
                    format!("{field}.date"),
                    "must be a date YYYY-MM-DD",
                ));
                continue;
            };
            let mut ivs = Vec::new();
            for (j, r) in o.intervals.iter().enumerate() {
                match parse_range(&r.start, &r.end) {
                    Ok(iv) => ivs.push(iv),
                    Err(msg) => errs
                        .0
                        .push(FieldError::new(format!("{field}.intervals[{j}]"), msg)),
                }
            }
            if ivs.is_empty() {
                overrides.push(OverrideRow {
                    on_date: date.to_string(),
                    start_minute: None,
                    end_minute: None,
                });
            }
            for iv in &ivs {
                overrides.push(OverrideRow {
                    on_date: date.to_string(),
                    start_minute: Some(i32::from(iv.start().get())),
                    end_minute: Some(i32::from(iv.end().get())),
                });
            }
            domain_overrides.push(DateOverride {
                date,
                intervals: ivs,
            });
        }
        if !errs.is_empty() {
            return Err(errs.0);
        }
        let visit = u16::try_from(self.visit_minutes).unwrap_or(0);
        let buffer = u16::try_from(self.buffer_minutes).unwrap_or(u16::MAX);
        if let Err(e) = schedule::validate(&domain_weekly, &domain_overrides, visit, buffer) {
            return Err(vec![FieldError::new("availability", e.to_string())]);
        }
        if domain_overrides
            .iter()
            .enumerate()
            .any(|(i, a)| domain_overrides[..i].iter().any(|b| b.date == a.date))
        {
            return Err(vec![FieldError::new(
                "overrides",
                "each date may appear only once",
            )]);
        }
        Ok(AvailabilityRows {
            visit_minutes: self.visit_minutes,
            buffer_minutes: self.buffer_minutes,
            weekly,
            overrides,
        })
    }
}

fn parse_range(start: &str, end: &str) -> Result<DayInterval, String> {
    let s = MinuteOfDay::parse(start).map_err(|e| e.to_string())?;
    let e = MinuteOfDay::parse(end).map_err(|e| e.to_string())?;
    DayInterval::new(s, e).map_err(|e| e.to_string())
}

/// A doctor's working hours and visit length (public).
#[utoipa::path(
    get, path = "/doctors/{id}/availability", tag = "doctors",
    params(("id" = i64, Path, description = "Doctor id")),
    responses(
        (status = 200, body = AvailabilityDoc),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_availability(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AvailabilityDoc>> {
    Ok(Json(availability_of(&state, user.as_ref(), id).await?))
}

/// A visible doctor's working hours, overrides and visit length. Shared by the
/// API and the pages.
pub async fn availability_of(
    state: &AppState,
    user: Option<&CurrentUser>,
    id: i64,
) -> ApiResult<AvailabilityDoc> {
    visible_doctor(state, user, id).await?;
    let rows = state
        .store
        .get_availability(id)
        .await?
        .ok_or_else(|| ApiError::not_found("doctor"))?;
    Ok(AvailabilityDoc::from_rows(&rows))
}

/// Replace working hours, overrides and visit length (the doctor or an admin).
#[utoipa::path(
    put, path = "/doctors/{id}/availability", tag = "doctors",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Doctor id")),
    request_body = AvailabilityDoc,
    responses(
        (status = 200, body = AvailabilityDoc),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_availability(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(doc): ApiJson<AvailabilityDoc>,
) -> ApiResult<Json<AvailabilityDoc>> {
    Ok(Json(set_availability(&state, &user, id, &doc).await?))
}

/// Validates and replaces a doctor's working hours, overrides and visit length
/// (the doctor or an admin). Shared by the API and the hours editor.
pub async fn set_availability(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    doc: &AvailabilityDoc,
) -> ApiResult<AvailabilityDoc> {
    managed_doctor(state, Some(user), id).await?;
    let rows = doc.to_rows().map_err(ApiError::validation)?;
    let now = state.clock.now().as_second();
    if !state
        .store
        .replace_availability(id, &rows, user.actor(), now)
        .await?
    {
        return Err(ApiError::not_found("doctor"));
    }
    Ok(AvailabilityDoc::from_rows(&rows))
}

/// The free slots that `doc` would produce for a doctor in `[from, to)`, with
/// their stored time off and taken visits, without saving anything: the hours
/// editor's preview. Same validation and slot generator as the real thing.
pub async fn preview_availability(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    doc: &AvailabilityDoc,
    from: Timestamp,
    to: Timestamp,
) -> ApiResult<Vec<Period>> {
    let doctor = managed_doctor(state, Some(user), id).await?;
    let rows = doc.to_rows().map_err(ApiError::validation)?;
    let mut sched = load_schedule(state, doctor.id, from, to).await?;
    let stored = std::mem::replace(
        &mut sched.availability,
        availability_from_rows(&doctor.timezone, &rows, Vec::new())?,
    );
    sched.availability.time_off = stored.time_off;
    Ok(slots_in(state, &sched, from, to))
}

// ---------------------------------------------------------------------------
// Time off

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimeOffView {
    pub id: i64,
    pub start: String,
    pub end: String,
    pub reason: Option<String>,
}

impl From<TimeOffRow> for TimeOffView {
    fn from(t: TimeOffRow) -> Self {
        Self {
            id: t.id,
            start: rfc3339(t.start_at),
            end: rfc3339(t.end_at),
            reason: t.reason,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTimeOff {
    /// RFC 3339 with offset.
    pub start: String,
    pub end: String,
    pub reason: Option<String>,
}

/// A doctor's current and future time off (the doctor or an admin).
#[utoipa::path(
    get, path = "/doctors/{id}/time-off", tag = "doctors",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Doctor id")),
    responses(
        (status = 200, body = Page<TimeOffView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_time_off(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<TimeOffView>>> {
    let rows = time_off_of(&state, &user, id).await?;
    Ok(Json(Page {
        items: rows.into_iter().map(TimeOffView::from).collect(),
        next_cursor: None,
    }))
}

/// A doctor's current and future time off (the doctor or an admin; others get
/// 404: time off and its reasons are private). Shared by the API and the pages.
pub async fn time_off_of(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> ApiResult<Vec<TimeOffRow>> {
    if !can_manage(Some(user), id) {
        return Err(ApiError::not_found("doctor"));
    }
    visible_doctor(state, Some(user), id).await?;
    Ok(state
        .store
        .list_time_off(id, state.clock.now().as_second())
        .await?)
}

/// Add time off (the doctor or an admin). Existing bookings are kept.
#[utoipa::path(
    post, path = "/doctors/{id}/time-off", tag = "doctors",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Doctor id")),
    request_body = NewTimeOff,
    responses(
        (status = 201, body = TimeOffView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_time_off(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<NewTimeOff>,
) -> ApiResult<(StatusCode, Json<TimeOffView>)> {
    let row = add_time_off_for(&state, &user, id, &req).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Validates and records time off for a doctor (the doctor or an admin).
/// Shared by the API and the pages.
pub async fn add_time_off_for(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    req: &NewTimeOff,
) -> ApiResult<TimeOffRow> {
    if !can_manage(Some(user), id) {
        return Err(ApiError::not_found("doctor"));
    }
    visible_doctor(state, Some(user), id).await?;
    let start = parse_instant("start", &req.start)?;
    let end = parse_instant("end", &req.end)?;
    if end <= start {
        return Err(ApiError::invalid("end", "must be after start"));
    }
    if end.duration_since(start) > SignedDuration::from_hours(24 * 366) {
        return Err(ApiError::invalid("end", "time off may last at most a year"));
    }
    let reason = req
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::invalid(
            "reason",
            "must be at most 500 characters",
        ));
    }
    let row = state
        .store
        .add_time_off(
            id,
            start.as_second(),
            end.as_second(),
            reason,
            user.actor(),
            state.clock.now().as_second(),
        )
        .await?;
    Ok(row)
}

/// Remove time off (the doctor or an admin).
#[utoipa::path(
    delete, path = "/doctors/{id}/time-off/{time_off_id}", tag = "doctors",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Doctor id"),
        ("time_off_id" = i64, Path, description = "Time-off id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_time_off(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((id, time_off_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    remove_time_off(&state, &user, id, time_off_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes one of a doctor's time-off entries (the doctor or an admin). Shared
/// by the API and the pages.
pub async fn remove_time_off(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    time_off_id: i64,
) -> ApiResult<()> {
    if !can_manage(Some(user), id) {
        return Err(ApiError::not_found("doctor"));
    }
    let now = state.clock.now().as_second();
    if !state
        .store
        .delete_time_off(id, time_off_id, user.actor(), now)
        .await?
    {
        return Err(ApiError::not_found("time off"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Free slots

/// Everything the slot generator needs about one doctor around `[from, to)`.
pub struct DoctorSchedule {
    /// Whether the doctor takes bookings.
    pub active: bool,
    pub availability: Availability,
    pub taken: Vec<Period>,
}

fn period(start: i64, end: i64) -> Option<Period> {
    let s = Timestamp::from_second(start).ok()?;
    let e = Timestamp::from_second(end).ok()?;
    Period::new(s, e).ok()
}

/// The slot generator's view of stored working hours and overrides, with the
/// given time off.
pub fn availability_from_rows(
    timezone: &str,
    rows: &AvailabilityRows,
    time_off: Vec<Period>,
) -> ApiResult<Availability> {
    let tz = TimeZone::get(timezone).map_err(|e| ApiError::internal(&e))?;
    let weekly = rows
        .weekly
        .iter()
        .filter_map(|h| {
            let iv = DayInterval::new(minute(Some(h.start_minute))?, minute(Some(h.end_minute))?)
                .ok()?;
            Some(WeeklyInterval {
                weekday: weekday_of(h.weekday),
                interval: iv,
            })
        })
        .collect();
    let mut overrides: Vec<DateOverride> = Vec::new();
    for o in &rows.overrides {
        let Ok(date) = o.on_date.parse::<Date>() else {
            continue;
        };
        if overrides.last().is_none_or(|l| l.date != date) {
            overrides.push(DateOverride {
                date,
                intervals: Vec::new(),
            });
        }
        if let (Some(s), Some(e), Some(last)) = (
            minute(o.start_minute),
            minute(o.end_minute),
            overrides.last_mut(),
        ) && let Ok(iv) = DayInterval::new(s, e)
        {
            last.intervals.push(iv);
        }
    }
    Ok(Availability {
        time_zone: tz,
        weekly,
        overrides,
        time_off,
        visit_minutes: u16::try_from(rows.visit_minutes).unwrap_or(30),
        buffer_minutes: u16::try_from(rows.buffer_minutes).unwrap_or(0),
    })
}

/// Loads a doctor's hours, overrides, time off and taken slots around a
/// window, and whether the doctor is active; 404 if there is no such doctor.
/// Callers decide what an inactive doctor means for them.
pub async fn load_schedule(
    state: &AppState,
    doctor_id: i64,
    from: Timestamp,
    to: Timestamp,
) -> ApiResult<DoctorSchedule> {
    // One query for hours, overrides, time off and taken slots: the hot read
    // of the free-slots page and of every booking (docs/PERFORMANCE.md).
    let day = 86_400;
    let (lo, hi) = (from.as_second() - day, to.as_second() + day);
    let sched = state
        .store
        .schedule_rows(doctor_id, lo, hi)
        .await?
        .ok_or_else(|| ApiError::not_found("doctor"))?;
    let rows = sched.availability;
    let time_off = sched
        .time_off
        .into_iter()
        .filter_map(|(s, e)| period(s, e))
        .collect();
    let taken = sched
        .taken
        .into_iter()
        .filter_map(|(s, e)| period(s, e))
        .collect();
    Ok(DoctorSchedule {
        active: sched.active,
        availability: availability_from_rows(&sched.timezone, &rows, time_off)?,
        taken,
    })
}

/// The free slots of a loaded schedule starting in `[from, to)`, under the
/// clinic's notice and horizon.
fn slots_in(
    state: &AppState,
    sched: &DoctorSchedule,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Period> {
    let window = SlotWindow {
        from,
        to,
        now: state.clock.now(),
        min_notice: state.settings.min_notice(),
        horizon: state.settings.horizon(),
    };
    schedule::free_slots(&sched.availability, &sched.taken, &window)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// RFC 3339; default now.
    pub from: Option<String>,
    /// RFC 3339; default `from` + 14 days; at most 62 days after `from`.
    pub to: Option<String>,
}

/// A free slot. The instants are written as RFC 3339 in UTC straight into the
/// response (no string per field: a page has hundreds of them).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    #[serde(serialize_with = "super::serialize_instant")]
    #[schema(value_type = String)]
    pub start: Timestamp,
    #[serde(serialize_with = "super::serialize_instant")]
    #[schema(value_type = String)]
    pub end: Timestamp,
}

/// A doctor's free slots (public).
#[utoipa::path(
    get, path = "/doctors/{id}/slots", tag = "doctors",
    params(("id" = i64, Path, description = "Doctor id"), SlotQuery),
    responses(
        (status = 200, body = Page<SlotView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn free_slots(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<SlotQuery>,
) -> ApiResult<Json<Page<SlotView>>> {
    let from = q
        .from
        .as_deref()
        .map(|s| parse_instant("from", s))
        .transpose()?;
    let to =
        q.to.as_deref()
            .map(|s| parse_instant("to", s))
            .transpose()?;
    let items = doctor_free_slots(&state, user.as_ref(), id, from, to)
        .await?
        .into_iter()
        .map(|p| SlotView {
            start: p.start,
            end: p.end,
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// A visible doctor's free slots starting in `[from, to)` (default: now and 14
/// days later; at most 62 days). An inactive doctor has none. Shared by the API
/// and the pages.
pub async fn doctor_free_slots(
    state: &AppState,
    user: Option<&CurrentUser>,
    id: i64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> ApiResult<Vec<Period>> {
    let from = from.unwrap_or_else(|| state.clock.now());
    let to = to.unwrap_or_else(|| from + SignedDuration::from_hours(14 * 24));
    if to <= from {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(62 * 24) {
        return Err(ApiError::invalid(
            "to",
            "must be at most 62 days after from",
        ));
    }
    // The doctor's visibility comes with the schedule: one query (the hot read).
    let sched = load_schedule(state, id, from, to).await?;
    if !sched.active {
        return if can_manage(user, id) {
            Ok(Vec::new())
        } else {
            Err(ApiError::not_found("doctor"))
        };
    }
    Ok(slots_in(state, &sched, from, to))
}
