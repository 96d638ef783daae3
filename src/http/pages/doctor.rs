//! The doctor's pages: the week calendar, and the working hours editor with
//! time off and a preview of the slots they produce. Admins reach the same
//! editor for any doctor under `/admin/doctors/{id}/...`.

use super::errors::{FormErrors, PageError, PageResult, form_status, status_of};
use super::flash::Flash;
use super::fmt;
use super::forms::UserForm;
use super::layout::Layout;
use super::patient::{id_of, today_in};
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::domain::appointment::{Action, Status};
use crate::domain::caller::Role;
use crate::domain::doctor::Doctor;
use crate::domain::ids::TimeOffId;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::usecases::appointments::{self as visits, AppointmentQuery};
use crate::usecases::schedule::{self, Hours, HoursInterval, NewTimeOff};
use crate::usecases::{Caller, Error, doctors};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/doctor", get(doctor_home))
        .route("/doctor/week", get(week))
        .route("/doctor/hours", get(own_hours).post(save_own_hours))
        .route("/doctor/time-off", post(add_own_time_off))
        .route("/doctor/time-off/{tid}/delete", post(remove_own_time_off))
}

async fn doctor_home(viewer: Viewer) -> PageResult {
    viewer.require(Role::Doctor)?;
    Ok(viewer.redirect("/doctor/week", None))
}

/// The signed-in doctor's own record.
async fn own_doctor(state: &AppState, user: &CurrentUser) -> Result<Doctor, PageError> {
    let Caller::Doctor { doctor, .. } = user.caller else {
        return Err(PageError::not_found());
    };
    Ok(doctors::visible(&state.clinic, &user.caller, doctor).await?)
}

fn zone_of(d: &Doctor) -> TimeZone {
    TimeZone::get(&d.timezone).unwrap_or(TimeZone::UTC)
}

// ---------------------------------------------------------------------------
// Week view

pub struct WeekVisit {
    pub id: i64,
    pub time: String,
    pub patient: String,
    pub reason: Option<String>,
    pub status: &'static str,
    pub status_class: &'static str,
    pub inactive: bool,
    pub can_complete: bool,
    pub can_no_show: bool,
}

pub struct WeekDay {
    pub heading: String,
    pub weekday: &'static str,
    pub day: String,
    pub is_today: bool,
    pub visits: Vec<WeekVisit>,
}

#[derive(Template)]
#[template(path = "doctor_week.html")]
struct WeekPage {
    layout: Layout,
    title: String,
    tz: String,
    days: Vec<WeekDay>,
    prev: String,
    next: String,
    this_week: Option<String>,
    back: String,
    csrf: String,
    today_count: usize,
    today_next: Option<String>,
    week_count: usize,
    open_count: usize,
    has_today: bool,
}

#[derive(Debug, Deserialize)]
struct WeekQuery {
    start: Option<String>,
}

async fn week(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<WeekQuery>,
) -> PageResult {
    let user = viewer.require(Role::Doctor)?;
    let doctor = own_doctor(&state, user).await?;
    let tz = zone_of(&doctor);
    let today = today_in(&state, &tz);
    let monday = fmt::monday_of(
        q.start
            .as_deref()
            .and_then(|s| s.parse::<Date>().ok())
            .unwrap_or(today),
    );
    let from = fmt::start_of(monday, &tz);
    let to = fmt::start_of(fmt::add_days(monday, 7), &tz);
    let rows = visits::list(
        &state.clinic,
        &user.caller,
        &AppointmentQuery {
            from: Some(from),
            to: Some(to),
            limit: Some(200),
            ..AppointmentQuery::default()
        },
    )
    .await?
    .items;
    let now = state.clinic.now();
    let can = |a, action| visits::allowed(&state.clinic, &user.caller, a, action);
    let mut days: Vec<WeekDay> = (0..7)
        .map(|i| {
            let d = fmt::add_days(monday, i);
            WeekDay {
                heading: fmt::day_heading(d),
                weekday: &fmt::weekday_name(d.weekday())[..3],
                day: d.day().to_string(),
                is_today: d == today,
                visits: Vec::new(),
            }
        })
        .collect();
    let mut today_count = 0;
    let mut today_next = None;
    let mut week_count = 0;
    let mut open_count = 0;
    for a in &rows {
        let start = fmt::zoned(a.start_at, &tz);
        let end = fmt::zoned(a.end_at, &tz);
        let active = a.status.is_active();
        let idx = usize::try_from((start.date() - monday).get_days()).unwrap_or(usize::MAX);
        let patient = a.patient_name();
        if a.status != Status::Cancelled {
            week_count += 1;
            if start.date() == today {
                today_count += 1;
            }
        }
        if active {
            open_count += 1;
            if start.date() == today && today_next.is_none() && a.end_at > now {
                today_next = Some(format!("{} with {patient}", fmt::time(&start)));
            }
        }
        if let Some(day) = days.get_mut(idx) {
            day.visits.push(WeekVisit {
                id: a.id.get(),
                time: format!("{}–{}", fmt::time(&start), fmt::time(&end)),
                patient,
                reason: a.reason.clone(),
                status: fmt::status_label(a.status),
                status_class: fmt::status_class(a.status),
                inactive: !active && a.status != Status::Completed,
                can_complete: can(a, Action::Complete),
                can_no_show: can(a, Action::NoShow),
            });
        }
    }
    let sunday = fmt::add_days(monday, 6);
    let title = if monday.month() == sunday.month() {
        format!(
            "{}–{} {}",
            monday.day(),
            sunday.day(),
            sunday.strftime("%B %Y")
        )
    } else {
        format!(
            "{} – {}",
            fmt::short_date(monday),
            sunday.strftime("%a %-d %b %Y")
        )
    };
    let this_monday = fmt::monday_of(today);
    let page = WeekPage {
        layout: viewer.layout("My week", "week"),
        title,
        tz: doctor.timezone.clone(),
        days,
        prev: format!("/doctor/week?start={}", fmt::add_days(monday, -7)),
        next: format!("/doctor/week?start={}", fmt::add_days(monday, 7)),
        this_week: (monday != this_monday).then(|| "/doctor/week".to_owned()),
        back: format!("/doctor/week?start={monday}"),
        csrf: user.csrf_token().to_owned(),
        today_count,
        today_next,
        week_count,
        open_count,
        has_today: monday == this_monday,
    };
    Ok(render(&page))
}

// ---------------------------------------------------------------------------
// Working hours and time off

/// Where the editor lives: the doctor's own (`/doctor`) or an admin's view of
/// one doctor (`/admin/doctors/{id}`).
pub struct HoursCtx {
    pub doctor: Doctor,
    pub base: String,
    pub admin: bool,
}

pub struct HoursRowView {
    pub key: String,
    pub label: String,
    pub start: String,
    pub end: String,
    pub error: Option<String>,
}

pub struct HoursDayView {
    pub key: String,
    pub name: &'static str,
    pub rows: Vec<HoursRowView>,
}

pub struct PreviewDay {
    pub heading: String,
    pub count: usize,
    pub times: Vec<String>,
    pub more: usize,
}

pub struct TimeOffView {
    pub id: i64,
    pub when: String,
    pub reason: Option<String>,
}

#[derive(Template)]
#[template(path = "doctor_hours.html")]
struct HoursPage {
    layout: Layout,
    doctor_name: String,
    admin: bool,
    base: String,
    tz: String,
    csrf: String,
    visit_minutes: String,
    buffer_minutes: String,
    days: Vec<HoursDayView>,
    preview: Vec<PreviewDay>,
    preview_total: usize,
    previewing: bool,
    time_off: Vec<TimeOffView>,
    off_start: String,
    off_end: String,
    off_reason: String,
    errors: FormErrors,
}

const MAX_ROWS: usize = 8;

/// The form's state: visit length, buffer and the rows of each weekday.
struct HoursInput {
    visit: String,
    buffer: String,
    /// (weekday 1..=7, start, end) per row, in form order.
    rows: Vec<(i32, String, String)>,
}

impl HoursInput {
    fn from_doc(doc: &Hours) -> Self {
        let mut rows = Vec::new();
        for w in 1..=7 {
            for h in doc
                .weekly
                .iter()
                .filter(|h| schedule::weekday_number(&h.weekday) == Some(w))
            {
                rows.push((w, h.start.clone(), h.end.clone()));
            }
        }
        HoursInput {
            visit: doc.visit_minutes.to_string(),
            buffer: doc.buffer_minutes.to_string(),
            rows,
        }
    }

    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let mut rows = Vec::new();
        for w in 1..=7 {
            for r in 0..MAX_ROWS {
                let s = get(&format!("d{w}r{r}s"));
                let e = get(&format!("d{w}r{r}e"));
                if !s.is_empty() || !e.is_empty() {
                    rows.push((w, s, e));
                }
            }
        }
        HoursInput {
            visit: get("visit_minutes"),
            buffer: get("buffer_minutes"),
            rows,
        }
    }

    /// The API document for these rows, or the page's own complaints (a row
    /// with only one end, a length that is not a number).
    fn to_doc(&self, keep: &Hours) -> Result<Hours, FormErrors> {
        let mut errors = FormErrors::default();
        let visit = self.visit.parse::<i32>();
        if visit.is_err() {
            errors.add(
                "visit_minutes",
                "Visit length must be a number of minutes, e.g. 30",
            );
        }
        let buffer = if self.buffer.is_empty() {
            Ok(0)
        } else {
            self.buffer.parse::<i32>()
        };
        if buffer.is_err() {
            errors.add(
                "buffer_minutes",
                "Break after each visit must be a number of minutes, e.g. 5",
            );
        }
        let mut weekly = Vec::new();
        for (i, (w, s, e)) in self.rows.iter().enumerate() {
            if s.is_empty() || e.is_empty() {
                errors.add(
                    &self.row_key(i),
                    "Give both a start and an end time, or clear both to remove the interval",
                );
            }
            weekly.push(HoursInterval {
                weekday: weekday_key(*w).to_owned(),
                start: s.clone(),
                end: e.clone(),
            });
        }
        match (visit, buffer) {
            (Ok(visit_minutes), Ok(buffer_minutes)) if errors.is_empty() => Ok(Hours {
                visit_minutes,
                buffer_minutes,
                weekly,
                overrides: keep.overrides.clone(),
            }),
            _ => Err(errors),
        }
    }

    /// The form key (`d{weekday}r{row}`) of the i-th non-empty row.
    fn row_key(&self, i: usize) -> String {
        let Some((w, ..)) = self.rows.get(i) else {
            return "hours".to_owned();
        };
        let r = self.rows[..i].iter().filter(|(x, ..)| x == w).count();
        format!("d{w}r{r}")
    }

    fn days(&self, errors: &FormErrors) -> Vec<HoursDayView> {
        (1..=7)
            .map(|w| {
                let mut rows: Vec<HoursRowView> = self
                    .rows
                    .iter()
                    .filter(|(x, ..)| *x == w)
                    .map(|(_, s, e)| (s.clone(), e.clone()))
                    .chain(std::iter::repeat_n((String::new(), String::new()), 2))
                    .take(MAX_ROWS)
                    .enumerate()
                    .map(|(r, (start, end))| {
                        let key = format!("d{w}r{r}");
                        HoursRowView {
                            error: errors.get(&key).map(str::to_owned),
                            label: format!("{} interval {}", weekday_title(w), r + 1),
                            key,
                            start,
                            end,
                        }
                    })
                    .collect();
                rows.truncate(MAX_ROWS);
                HoursDayView {
                    key: format!("d{w}"),
                    name: weekday_title(w),
                    rows,
                }
            })
            .collect()
    }
}

fn weekday_key(w: i32) -> &'static str {
    schedule::WEEKDAYS[usize::try_from(w - 1).unwrap_or(0).min(6)]
}

fn weekday_title(w: i32) -> &'static str {
    let day = i8::try_from(w)
        .ok()
        .and_then(|n| Weekday::from_monday_one_offset(n).ok())
        .unwrap_or(Weekday::Monday);
    fmt::weekday_name(day)
}

/// The field errors for working hours, placed on the rows.
fn hours_errors(e: &Error, input: &HoursInput) -> FormErrors {
    let mut out = FormErrors::default();
    for f in e.fields() {
        let msg = &f.message;
        if let Some(rest) = f.field.strip_prefix("weekly[")
            && let Some(i) = rest.split(']').next().and_then(|n| n.parse::<usize>().ok())
        {
            let key = input.row_key(i);
            let (w, ..) = input
                .rows
                .get(i)
                .cloned()
                .unwrap_or((1, String::new(), String::new()));
            out.add(&key, format!("{}: {msg}", weekday_title(w)));
        } else {
            let text = capitalize(msg);
            match &mut out.alert {
                Some(a) => {
                    a.push(' ');
                    a.push_str(&text);
                }
                None => out.alert = Some(text),
            }
        }
    }
    if e.fields().is_empty() {
        out.alert = Some(e.detail());
    }
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The slots `doc` would produce over the next 7 days, by the doctor's day.
async fn preview(
    state: &AppState,
    user: &CurrentUser,
    doctor: &Doctor,
    doc: &Hours,
) -> Result<(Vec<PreviewDay>, usize), Error> {
    let tz = zone_of(doctor);
    let now = state.clinic.now();
    let today = today_in(state, &tz);
    let to = fmt::start_of(fmt::add_days(today, 7), &tz);
    let slots =
        schedule::preview_hours(&state.clinic, &user.caller, doctor.id, doc, now, to).await?;
    let total = slots.len();
    let mut days: Vec<(Date, Vec<String>)> = (0..7)
        .map(|i| (fmt::add_days(today, i), Vec::new()))
        .collect();
    for p in slots {
        let z = p.start.to_zoned_datetime(tz.clone());
        if let Some((_, times)) = days.iter_mut().find(|(d, _)| *d == z.date()) {
            times.push(fmt::time(&z));
        }
    }
    Ok((
        days.into_iter()
            .map(|(d, times)| PreviewDay {
                heading: if d == today {
                    format!("Today, {}", fmt::short_date(d))
                } else {
                    fmt::short_date(d)
                },
                count: times.len(),
                more: times.len().saturating_sub(12),
                times: times.into_iter().take(12).collect(),
            })
            .collect(),
        total,
    ))
}

struct OffInput {
    start: String,
    end: String,
    reason: String,
}

#[allow(clippy::too_many_arguments)]
async fn hours_page(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    ctx: &HoursCtx,
    input: Option<&HoursInput>,
    off: Option<&OffInput>,
    errors: FormErrors,
    previewing: bool,
) -> Result<HoursPage, PageError> {
    let stored = schedule::hours(&state.clinic, &user.caller, ctx.doctor.id).await?;
    let stored_input = HoursInput::from_doc(&stored);
    let input = input.unwrap_or(&stored_input);
    // The preview shows what the form says when it is valid, else the saved hours.
    let doc = input.to_doc(&stored).ok().filter(|d| d.to_rows().is_ok());
    let (preview_days, preview_total) =
        preview(state, user, &ctx.doctor, doc.as_ref().unwrap_or(&stored)).await?;
    let tz = zone_of(&ctx.doctor);
    let today = today_in(state, &tz);
    let time_off = schedule::time_off(&state.clinic, &user.caller, ctx.doctor.id)
        .await?
        .into_iter()
        .map(|t| {
            let s = fmt::zoned(t.start_at, &tz);
            let e = fmt::zoned(t.end_at, &tz);
            TimeOffView {
                id: t.id.get(),
                when: format!("{} – {}", fmt::when(&s, today), fmt::when(&e, today)),
                reason: t.reason,
            }
        })
        .collect();
    let name = format!("Dr. {}", ctx.doctor.full_name());
    Ok(HoursPage {
        layout: viewer.layout(
            "Working hours",
            if ctx.admin { "admin-doctors" } else { "hours" },
        ),
        doctor_name: name,
        admin: ctx.admin,
        base: ctx.base.clone(),
        tz: ctx.doctor.timezone.clone(),
        csrf: user.csrf_token().to_owned(),
        visit_minutes: input.visit.clone(),
        buffer_minutes: input.buffer.clone(),
        days: input.days(&errors),
        preview: preview_days,
        preview_total,
        previewing,
        time_off,
        off_start: off.map(|o| o.start.clone()).unwrap_or_default(),
        off_end: off.map(|o| o.end.clone()).unwrap_or_default(),
        off_reason: off.map(|o| o.reason.clone()).unwrap_or_default(),
        errors,
    })
}

pub async fn show_hours(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    ctx: &HoursCtx,
) -> PageResult {
    let page = hours_page(
        state,
        viewer,
        user,
        ctx,
        None,
        None,
        FormErrors::default(),
        false,
    )
    .await?;
    Ok(render(&page))
}

pub async fn post_hours(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    ctx: &HoursCtx,
    pairs: &[(String, String)],
) -> PageResult {
    let input = HoursInput::from_pairs(pairs);
    let action = pairs
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.as_str())
        .unwrap_or("save");
    let stored = schedule::hours(&state.clinic, &user.caller, ctx.doctor.id).await?;
    let doc = match input.to_doc(&stored) {
        Ok(doc) => doc,
        Err(errors) => {
            let page =
                hours_page(state, viewer, user, ctx, Some(&input), None, errors, false).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let result = if action == "preview" {
        doc.to_rows().map(|_| ()).map_err(Error::Invalid)
    } else {
        schedule::set_hours(&state.clinic, &user.caller, ctx.doctor.id, &doc)
            .await
            .map(|_| ())
    };
    match result {
        Ok(()) if action == "preview" => {
            let page = hours_page(
                state,
                viewer,
                user,
                ctx,
                Some(&input),
                None,
                FormErrors::default(),
                true,
            )
            .await?;
            Ok(render(&page))
        }
        Ok(()) => Ok(viewer.redirect(&format!("{}/hours", ctx.base), Some(Flash::HoursSaved))),
        Err(e) if status_of(&e).is_client_error() && !matches!(e, Error::NotFound(_)) => {
            let errors = hours_errors(&e, &input);
            let page =
                hours_page(state, viewer, user, ctx, Some(&input), None, errors, false).await?;
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct TimeOffForm {
    #[serde(default)]
    off_start: String,
    #[serde(default)]
    off_end: String,
    #[serde(default)]
    off_reason: String,
}

/// A `datetime-local` value (`2026-12-01T09:00`) in the doctor's zone as RFC 3339.
fn local_instant(s: &str, tz: &TimeZone) -> Option<String> {
    let dt = s.trim().parse::<DateTime>().ok()?;
    dt.to_zoned_datetime(tz.clone())
        .ok()
        .map(|z| z.timestamp().to_string())
}

pub async fn post_time_off(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    ctx: &HoursCtx,
    form: TimeOffForm,
) -> PageResult {
    let tz = zone_of(&ctx.doctor);
    let mut errors = FormErrors::default();
    let instant = |s: &str| local_instant(s, &tz).and_then(|t| t.parse::<Timestamp>().ok());
    let start = instant(&form.off_start);
    let end = instant(&form.off_end);
    if start.is_none() {
        errors.add("off_start", "Time off start must be a date and time");
    }
    if end.is_none() {
        errors.add("off_end", "Time off end must be a date and time");
    }
    let off = OffInput {
        start: form.off_start.clone(),
        end: form.off_end.clone(),
        reason: form.off_reason.clone(),
    };
    if let (Some(start), Some(end)) = (start, end) {
        let req = NewTimeOff {
            start,
            end,
            reason: Some(form.off_reason.clone()),
        };
        match schedule::add_time_off(&state.clinic, &user.caller, ctx.doctor.id, &req).await {
            Ok(_) => {
                return Ok(viewer.redirect(
                    &format!("{}/hours#time-off", ctx.base),
                    Some(Flash::TimeOffAdded),
                ));
            }
            Err(e) if status_of(&e).is_client_error() && !matches!(e, Error::NotFound(_)) => {
                errors = FormErrors::from_error(&e, |f| match f {
                    "start" => Some("Time off start"),
                    "end" => Some("Time off end"),
                    "reason" => Some("Reason"),
                    _ => None,
                });
                for f in &mut errors.fields {
                    f.field = format!("off_{}", f.field);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    let page = hours_page(state, viewer, user, ctx, None, Some(&off), errors, false).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn delete_time_off(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    ctx: &HoursCtx,
    tid: &str,
) -> PageResult {
    let tid = TimeOffId::new(id_of(tid)?);
    schedule::remove_time_off(&state.clinic, &user.caller, ctx.doctor.id, tid).await?;
    Ok(viewer.redirect(
        &format!("{}/hours#time-off", ctx.base),
        Some(Flash::TimeOffRemoved),
    ))
}

async fn own_ctx(state: &AppState, user: &CurrentUser) -> Result<HoursCtx, PageError> {
    Ok(HoursCtx {
        doctor: own_doctor(state, user).await?,
        base: "/doctor".to_owned(),
        admin: false,
    })
}

/// A form's raw pairs (the hours editor has a variable number of fields).
pub type Pairs = Vec<(String, String)>;

async fn own_hours(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Doctor)?;
    let ctx = own_ctx(&state, user).await?;
    show_hours(&state, &viewer, user, &ctx).await
}

async fn save_own_hours(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<Pairs>,
) -> PageResult {
    if form.user.role() != Some(Role::Doctor) {
        return Err(PageError::not_found());
    }
    let ctx = own_ctx(&state, &form.user).await?;
    post_hours(&state, &viewer, &form.user, &ctx, &form.data).await
}

async fn add_own_time_off(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<TimeOffForm>,
) -> PageResult {
    if form.user.role() != Some(Role::Doctor) {
        return Err(PageError::not_found());
    }
    let ctx = own_ctx(&state, &form.user).await?;
    post_time_off(&state, &viewer, &form.user, &ctx, form.data).await
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

async fn remove_own_time_off(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tid): Path<String>,
    form: UserForm<Empty>,
) -> PageResult {
    if form.user.role() != Some(Role::Doctor) {
        return Err(PageError::not_found());
    }
    let ctx = own_ctx(&state, &form.user).await?;
    delete_time_off(&state, &viewer, &form.user, &ctx, &tid).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_hours_form_reads_rows_in_order_and_keys_them_back() {
        let input = HoursInput::from_pairs(&pairs(&[
            ("visit_minutes", "30"),
            ("d1r0s", "09:00"),
            ("d1r0e", "12:00"),
            ("d1r1s", ""),
            ("d1r1e", ""),
            ("d1r2s", "13:00"),
            ("d1r2e", "17:00"),
            ("d3r0s", " 08:00 "),
            ("d3r0e", ""),
        ]));
        assert_eq!(input.rows.len(), 3);
        // Rows are renumbered without the empty one; the third has no end.
        assert_eq!(input.row_key(1), "d1r1");
        assert_eq!(input.row_key(2), "d3r0");
        let keep = Hours {
            visit_minutes: 30,
            buffer_minutes: 0,
            weekly: Vec::new(),
            overrides: Vec::new(),
        };
        let errors = input.to_doc(&keep).err().unwrap_or_default();
        assert!(errors.has("d3r0"), "{errors:?}");
        let fine = HoursInput::from_pairs(&pairs(&[
            ("visit_minutes", "20"),
            ("d7r0s", "00:00"),
            ("d7r0e", "24:00"),
        ]));
        let doc = fine.to_doc(&keep).unwrap_or(keep.clone());
        assert_eq!(doc.visit_minutes, 20);
        assert_eq!(doc.weekly.len(), 1);
        assert_eq!(doc.weekly[0].weekday, "sunday");
        assert!(doc.to_rows().is_ok());
    }

    #[test]
    fn time_off_is_read_in_the_doctors_zone() {
        let tz = TimeZone::get("Europe/Berlin").unwrap_or(TimeZone::UTC);
        assert_eq!(
            local_instant("2026-07-01T09:00", &tz).as_deref(),
            Some("2026-07-01T07:00:00Z")
        );
        assert_eq!(local_instant("tomorrow", &tz), None);
    }
}
