//! The doctor's week: their visits day by day in their own zone, with the
//! day's and the week's counts and the visit actions they may take, "Join
//! visit" where a video room is open and "Patient waiting" where the patient
//! is in it.

use super::{own_doctor, zone_of};
use crate::domain::appointment::{Action, Status};
use crate::domain::caller::Role;
use crate::http::AppState;
use crate::http::pages::calendar::{self, CalendarCard};
use crate::http::pages::errors::PageResult;
use crate::http::pages::fmt;
use crate::http::pages::forms::PageQuery;
use crate::http::pages::layout::Layout;
use crate::http::pages::patient::today_in;
use crate::http::pages::render::render;
use crate::http::pages::viewer::Viewer;
use crate::usecases::appointments::{self as visits, AppointmentQuery};
use crate::usecases::visits as video;
use askama::Template;
use axum::extract::State;
use jiff::civil::Date;
use serde::Deserialize;

pub struct WeekVisit {
    pub id: i64,
    pub time: String,
    pub patient: String,
    /// The patient's stable label (`P-000123`), shown next to the name.
    pub patient_label: String,
    pub reason: Option<String>,
    pub status: &'static str,
    pub status_class: &'static str,
    pub inactive: bool,
    pub can_complete: bool,
    pub can_no_show: bool,
    /// Its video room is open now.
    pub room_open: bool,
    /// Its patient is in the room.
    pub patient_waiting: bool,
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
    /// The "Calendar subscription" card.
    calendar: CalendarCard,
}

#[derive(Debug, Deserialize)]
pub(super) struct WeekQuery {
    start: Option<String>,
}

pub(super) async fn week(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<WeekQuery>,
) -> PageResult {
    let user = viewer.require(Role::Doctor)?;
    let doctor = own_doctor(&state, user).await?;
    let tz = zone_of(&doctor);
    let today = today_in(&state, &tz);
    let monday = fmt::monday_of(
        q.start
            .as_deref()
            .and_then(|s| s.parse::<Date>().ok())
            .filter(|d| crate::domain::reach::date(*d))
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
    let waiting = video::waiting(&state.clinic, &user.caller, doctor.id).await?;
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
                patient_label: a.patient_id.label(),
                reason: a.reason.clone(),
                status: fmt::status_label(a.status),
                status_class: fmt::status_class(a.status),
                inactive: !active && a.status != Status::Completed,
                can_complete: can(a, Action::Complete),
                can_no_show: can(a, Action::NoShow),
                room_open: video::room_is_open(&state.clinic, a),
                patient_waiting: waiting.contains(&a.id),
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
        calendar: calendar::card(&state, user, "/doctor/calendar").await?,
    };
    Ok(render(&page))
}
