//! The patient's pages: finding a doctor, a doctor's free times and booking,
//! and My appointments.

use super::errors::{FormErrors, PageError, PageResult, form_status, status_of};
use super::flash::Flash;
use super::fmt;
use super::forms::UserForm;
use super::layout::Layout;
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::auth;
use crate::domain::appointment::Appointment;
use crate::domain::appointment::{Action, Status};
use crate::domain::caller::Role;
use crate::domain::doctor::Doctor;
use crate::domain::ids::DoctorId;
use crate::domain::limits::Action as Limited;
use crate::http::AppState;
use crate::http::cursor::{cursor_numbers, encode_cursor};
use crate::http::extract::{ClientAddr, CurrentUser};
use crate::http::pages::forms::PageQuery;
use crate::usecases::appointments::{self as visits, AppointmentQuery, Booking};
use crate::usecases::doctors::{self, DoctorQuery};
use crate::usecases::limits;
use crate::usecases::schedule;
use crate::usecases::{Caller, Conflict, Error, Refusal};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/doctors", get(find_page))
        .route("/doctors/{id}", get(doctor_page))
        .route("/doctors/{id}/book", post(book))
        .route("/appointments", get(my_appointments))
}

/// A numeric id from the path; anything else names nothing (404).
pub fn id_of(s: &str) -> Result<i64, PageError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(PageError::not_found)
}

/// Today in a zone.
pub fn today_in(state: &AppState, tz: &TimeZone) -> Date {
    state.clinic.now().to_zoned_datetime(tz.clone()).date()
}

// ---------------------------------------------------------------------------
// Find a doctor

pub struct DoctorCard {
    pub id: i64,
    pub name: String,
    pub initials: String,
    pub specialty: String,
    pub experience: String,
    pub fee: String,
    pub visit: String,
    pub next_free: Option<String>,
    pub active: bool,
}

fn experience(years: i32) -> String {
    match years {
        0 => "New to practice".to_owned(),
        1 => "1 year of experience".to_owned(),
        n => format!("{n} years of experience"),
    }
}

impl DoctorCard {
    pub fn new(d: &Doctor, next_free: Option<String>) -> Self {
        Self {
            id: d.id.get(),
            name: format!("Dr. {}", d.full_name()),
            initials: fmt::initials(&d.first_name, &d.last_name),
            specialty: d.specialty.clone(),
            experience: experience(d.experience_years),
            fee: crate::domain::person::format_fee(d.fee_cents),
            visit: fmt::minutes(i64::from(d.visit_minutes)),
            next_free,
            active: d.active,
        }
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "doctors.html")]
struct FindPage {
    layout: Layout,
    q: String,
    specialties: Vec<Choice>,
    cards: Vec<DoctorCard>,
    filtered: bool,
    more: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FindQuery {
    q: Option<String>,
    specialty: Option<String>,
    cursor: Option<String>,
}

async fn find_page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(query): PageQuery<FindQuery>,
) -> PageResult {
    let q = query.q.unwrap_or_default().trim().to_owned();
    let specialty = query.specialty.unwrap_or_default().trim().to_owned();
    let caller = CurrentUser::caller_of(viewer.user.as_ref());
    let found = doctors::find(
        &state.clinic,
        &caller,
        &DoctorQuery {
            specialty: Some(specialty.clone()),
            q: Some(q.clone()),
            include_inactive: false,
            after: query
                .cursor
                .as_deref()
                .and_then(cursor_numbers)
                .and_then(|c| c.first().copied())
                .map(DoctorId::new),
            limit: Some(24),
        },
    )
    .await?;
    let rows = found.items;
    let more = if found.more {
        rows.last().map(|d| {
            format!(
                "/doctors?q={}&specialty={}&cursor={}",
                fmt::url_encode(&q),
                fmt::url_encode(&specialty),
                encode_cursor(&[d.id.get()])
            )
        })
    } else {
        None
    };
    let now = state.clinic.now();
    let today = today_in(&state, &viewer.tz);
    let mut cards = Vec::with_capacity(rows.len());
    for d in &rows {
        let next = schedule::free_slots(&state.clinic, &caller, d.id, Some(now), None)
            .await?
            .first()
            .map(|p| fmt::when(&p.start.to_zoned_datetime(viewer.tz.clone()), today));
        cards.push(DoctorCard::new(d, next));
    }
    let specialties = doctors::specialties(&state.clinic)
        .await?
        .into_iter()
        .map(|(name, n)| Choice {
            selected: name.eq_ignore_ascii_case(&specialty),
            label: format!("{name} ({n})"),
            value: name,
        })
        .collect();
    let page = FindPage {
        layout: viewer.layout_tz("Find a doctor", "doctors"),
        filtered: !q.is_empty() || !specialty.is_empty(),
        q,
        specialties,
        cards,
        more,
    };
    Ok(render(&page))
}

// ---------------------------------------------------------------------------
// Slot picker (also used to reschedule)

pub struct SlotChoice {
    pub id: String,
    pub value: String,
    pub label: String,
    pub full: String,
    pub checked: bool,
}

pub struct SlotDay {
    pub id: String,
    pub heading: String,
    pub today: bool,
    pub slots: Vec<SlotChoice>,
}

/// A doctor's free times for one week, by day, in the viewer's zone.
pub struct SlotPicker {
    pub days: Vec<SlotDay>,
    pub tz: String,
    pub range: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub total: usize,
    pub week: String,
}

#[allow(clippy::too_many_arguments)]
/// Builds the picker for the week starting `week` (default today), linking
/// other weeks to `base?week=...`.
pub async fn slot_picker(
    state: &AppState,
    user: Option<&CurrentUser>,
    doctor_id: DoctorId,
    viewer_tz: &TimeZone,
    tz_name: &str,
    week: Option<&str>,
    base: &str,
    chosen: &str,
) -> Result<SlotPicker, PageError> {
    let today = today_in(state, viewer_tz);
    let last = fmt::add_days(today, state.clinic.settings().horizon_days.max(1));
    let start = week
        .and_then(|w| w.parse::<Date>().ok())
        .filter(|d| *d >= today && *d <= last)
        .unwrap_or(today);
    let end = fmt::add_days(start, 7);
    let from = fmt::start_of(start, viewer_tz);
    let to = fmt::start_of(end, viewer_tz);
    let caller = CurrentUser::caller_of(user);
    let slots =
        schedule::free_slots(&state.clinic, &caller, doctor_id, Some(from), Some(to)).await?;
    let mut days: Vec<SlotDay> = (0..7)
        .map(|i| {
            let d = fmt::add_days(start, i);
            SlotDay {
                id: format!("day-{d}"),
                heading: fmt::short_date(d),
                today: d == today,
                slots: Vec::new(),
            }
        })
        .collect();
    let total = slots.len();
    for p in slots {
        let z = p.start.to_zoned_datetime(viewer_tz.clone());
        let idx = usize::try_from((z.date() - start).get_days()).unwrap_or(usize::MAX);
        if let Some(day) = days.get_mut(idx) {
            let value = p.start.to_string();
            day.slots.push(SlotChoice {
                id: format!("slot-{}", p.start.as_second()),
                checked: value == chosen,
                label: fmt::time(&z),
                full: fmt::when(&z, today),
                value,
            });
        }
    }
    let link = |d: Date| {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}week={d}")
    };
    Ok(SlotPicker {
        days,
        tz: tz_name.to_owned(),
        range: format!(
            "{} – {}",
            fmt::short_date(start),
            fmt::short_date(fmt::add_days(end, -1))
        ),
        prev: (start > today).then(|| link(fmt::add_days(start, -7).max(today))),
        next: (end <= last).then(|| link(end)),
        total,
        week: start.to_string(),
    })
}

// ---------------------------------------------------------------------------
// A doctor's page

#[derive(Template)]
#[template(path = "doctor.html")]
struct DoctorPage {
    layout: Layout,
    card: DoctorCard,
    doctor_tz: String,
    picker: SlotPicker,
    can_book: bool,
    signed_in: bool,
    login_next: String,
    csrf: String,
    reason: String,
    key: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
struct WeekQuery {
    week: Option<String>,
}

async fn doctor_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageQuery(q): PageQuery<WeekQuery>,
) -> PageResult {
    let id = DoctorId::new(id_of(&id)?);
    let page = doctor_view(
        &state,
        &viewer,
        id,
        q.week.as_deref(),
        "",
        String::new(),
        FormErrors::default(),
    )
    .await?;
    Ok(render(&page))
}

async fn doctor_view(
    state: &AppState,
    viewer: &Viewer,
    id: DoctorId,
    week: Option<&str>,
    chosen: &str,
    reason: String,
    errors: FormErrors,
) -> Result<DoctorPage, PageError> {
    let caller = CurrentUser::caller_of(viewer.user.as_ref());
    let d = doctors::visible(&state.clinic, &caller, id).await?;
    let base = format!("/doctors/{id}");
    let picker = slot_picker(
        state,
        viewer.user.as_ref(),
        id,
        &viewer.tz,
        &viewer.tz_name,
        week,
        &base,
        chosen,
    )
    .await?;
    let name = format!("Dr. {}", d.full_name());
    Ok(DoctorPage {
        layout: viewer.layout_tz(&name, "doctors"),
        doctor_tz: d.timezone.clone(),
        card: DoctorCard::new(&d, None),
        picker,
        can_book: viewer
            .user
            .as_ref()
            .is_some_and(|u| u.role() == Some(Role::Patient)),
        signed_in: viewer.user.is_some(),
        login_next: fmt::url_encode(&viewer.path),
        csrf: viewer
            .user
            .as_ref()
            .map(|u| u.csrf_token().to_owned())
            .unwrap_or_default(),
        reason,
        key: auth::new_token(),
        errors,
    })
}

#[derive(Debug, Deserialize)]
struct BookForm {
    #[serde(default)]
    start: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    week: String,
    #[serde(default)]
    key: String,
}

/// What a patient reads when booking or moving a visit failed.
pub fn booking_errors(e: &Error) -> FormErrors {
    match e {
        Error::Conflict(Conflict::SlotTaken) => FormErrors::alert(
            "Sorry, that time was just taken by someone else. Please choose another time below.",
        ),
        Error::Refused(Refusal::NotAFreeSlot) => {
            FormErrors::alert("That time is no longer available. Please choose another time below.")
        }
        _ => FormErrors::from_error(e, |f| match f {
            "reason" => Some("Reason for the visit"),
            _ => None,
        }),
    }
}

async fn book(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    client: ClientAddr,
    form: UserForm<BookForm>,
) -> PageResult {
    let id = DoctorId::new(id_of(&id)?);
    let UserForm { user, data } = form;
    let start = data
        .start
        .trim()
        .parse::<Timestamp>()
        .ok()
        .filter(|t| crate::domain::reach::instant(*t));
    let (errors, status) = if data.start.trim().is_empty() {
        let mut errors = FormErrors::default();
        errors.add("start", "Choose a time for your visit");
        (errors, StatusCode::UNPROCESSABLE_ENTITY)
    } else if let Some(start) = start {
        let key = data.key.trim();
        let key = (!key.is_empty() && key.len() <= 200).then(|| key.to_owned());
        let req = Booking {
            doctor_id: id,
            start,
            reason: Some(data.reason.clone()),
            idempotency_key: key,
        };
        let booked = match limits::admit(&state.clinic, Limited::Booking, &user.caller, &client.0) {
            Ok(()) => visits::book(&state.clinic, &user.caller, &req).await,
            Err(e) => Err(e),
        };
        match booked {
            Ok(row) => {
                return Ok(
                    viewer.redirect(&format!("/appointments/{}", row.id), Some(Flash::Booked))
                );
            }
            Err(e) if status_of(&e).is_client_error() && !matches!(e, Error::NotFound(_)) => {
                tracing::info!(error = %e, "booking from the page refused");
                (booking_errors(&e), form_status(&e))
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        let e = Error::Refused(Refusal::NotAFreeSlot);
        (booking_errors(&e), form_status(&e))
    };
    let page = doctor_view(
        &state,
        &viewer,
        id,
        Some(&data.week),
        "",
        data.reason,
        errors,
    )
    .await?;
    Ok(render_status(status, &page))
}

// ---------------------------------------------------------------------------
// My appointments

pub struct VisitRow {
    pub id: i64,
    pub when: String,
    pub date: String,
    pub time: String,
    pub doctor: String,
    pub patient: String,
    pub reason: Option<String>,
    pub status: &'static str,
    pub status_class: &'static str,
    pub active: bool,
    pub can_change: bool,
}

impl VisitRow {
    pub fn new(
        state: &AppState,
        caller: &Caller,
        a: &Appointment,
        tz: &TimeZone,
        today: Date,
    ) -> Self {
        let start = fmt::zoned(a.start_at, tz);
        let end = fmt::zoned(a.end_at, tz);
        let can_change = visits::allowed(&state.clinic, caller, a, Action::Cancel);
        Self {
            id: a.id.get(),
            when: fmt::when(&start, today),
            date: fmt::day_heading(start.date()),
            time: format!("{} – {}", fmt::time(&start), fmt::time(&end)),
            doctor: format!("Dr. {}", a.doctor_name()),
            patient: a.patient_name(),
            reason: a.reason.clone(),
            status: fmt::status_label(a.status),
            status_class: fmt::status_class(a.status),
            active: a.status.is_active(),
            can_change,
        }
    }
}

#[derive(Template)]
#[template(path = "appointments.html")]
struct MyAppointmentsPage {
    layout: Layout,
    upcoming: Vec<VisitRow>,
    past: Vec<VisitRow>,
    cancel_hours: i64,
}

async fn my_appointments(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    match viewer.user.as_ref().and_then(CurrentUser::role) {
        Some(Role::Doctor) => return Ok(viewer.redirect("/doctor/week", None)),
        Some(Role::Admin) => return Ok(viewer.redirect("/admin/appointments", None)),
        _ => {}
    }
    let user = viewer.require(Role::Patient)?;
    let now = state.clinic.now();
    let today = today_in(&state, &viewer.tz);
    let year_ago = now - SignedDuration::from_hours(24 * 366);
    let query = |statuses: &[Status]| AppointmentQuery {
        statuses: statuses.to_vec(),
        from: Some(year_ago),
        limit: Some(200),
        ..AppointmentQuery::default()
    };
    let caller = &user.caller;
    let active = visits::list(
        &state.clinic,
        caller,
        &query(&[Status::Booked, Status::InProgress]),
    )
    .await?
    .items;
    let done = visits::list(
        &state.clinic,
        caller,
        &query(&[Status::Completed, Status::NoShow, Status::Cancelled]),
    )
    .await?
    .items;
    let mut upcoming = Vec::new();
    let mut past = Vec::new();
    for a in &active {
        let row = VisitRow::new(&state, caller, a, &viewer.tz, today);
        if a.end_at > now {
            upcoming.push(row);
        } else {
            past.push((a.start_at, row));
        }
    }
    for a in &done {
        past.push((
            a.start_at,
            VisitRow::new(&state, caller, a, &viewer.tz, today),
        ));
    }
    past.sort_by_key(|p| std::cmp::Reverse(p.0));
    let page = MyAppointmentsPage {
        layout: viewer.layout_tz("My appointments", "appointments"),
        upcoming,
        past: past.into_iter().map(|(_, r)| r).collect(),
        cancel_hours: state.clinic.settings().cancel_window_hours,
    };
    Ok(render(&page))
}
