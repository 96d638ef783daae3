//! One appointment, for whoever may see it (its patient, its doctor, an admin;
//! anyone else gets the 404 page): details, cancel with a reason, reschedule,
//! and the doctor's visit actions (start, completed, no-show). Its patient and
//! its doctor also see the way into the video visit's room while it is open
//! (or when it opens), and afterwards the visit's chat and note; the doctor
//! also sees the patient's earlier visits with them, with their notes.

use super::errors::{FormErrors, PageError, PageResult, form_status, status_of};
use super::flash::Flash;
use super::fmt;
use super::forms::UserForm;
use super::layout::Layout;
use super::patient::{SlotPicker, booking_errors, id_of, slot_picker, today_in};
use super::redirect::safe_local_path;
use super::render::{render, render_status};
use super::room::{ChatLine, PastLine, whole_chat};
use super::viewer::Viewer;
use crate::domain::appointment::Appointment;
use crate::domain::appointment::{Action, PaymentStatus, Status};
use crate::domain::caller::Role;
use crate::domain::ids::AppointmentId;
use crate::domain::limits::Action as Limited;
use crate::domain::visit::RoomState;
use crate::http::AppState;
use crate::http::extract::{ClientAddr, CurrentUser};
use crate::http::pages::forms::PageQuery;
use crate::usecases::appointments as visits;
use crate::usecases::{Caller, Conflict, Error, Refusal, doctors, visits as video};
use crate::usecases::{admin, limits};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/appointments/{id}", get(detail))
        .route("/appointments/{id}/cancel", post(cancel))
        .route(
            "/appointments/{id}/reschedule",
            get(reschedule_page).post(reschedule),
        )
        .route("/appointments/{id}/start", post(start))
        .route("/appointments/{id}/complete", post(complete))
        .route("/appointments/{id}/no-show", post(no_show))
        .route("/appointments/{id}/payment", post(set_payment))
}

/// Whether the domain policy would let `user` do `action` now (to show only
/// the buttons that can work; the POST asks again).
fn allowed(state: &AppState, user: &CurrentUser, a: &Appointment, action: Action) -> bool {
    visits::allowed(&state.clinic, &user.caller, a, action)
}

/// The zone an appointment is shown in: a doctor's own, or the browser's.
pub(super) async fn zone_for(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
) -> Result<(TimeZone, String), PageError> {
    if let Caller::Doctor { doctor, .. } = user.caller {
        let d = doctors::visible(&state.clinic, &user.caller, doctor).await?;
        if let Ok(tz) = TimeZone::get(&d.timezone) {
            return Ok((tz, d.timezone));
        }
    }
    Ok((viewer.tz.clone(), viewer.tz_name.clone()))
}

/// An appointment id from the path.
fn appointment_id(s: &str) -> Result<AppointmentId, PageError> {
    id_of(s).map(AppointmentId::new)
}

#[derive(Template)]
#[template(path = "appointment.html")]
struct DetailPage {
    layout: Layout,
    id: i64,
    date: String,
    time: String,
    length: String,
    tz: String,
    doctor: String,
    doctor_id: i64,
    patient: String,
    /// The patient's stable label (`P-000123`), for staff.
    patient_label: String,
    reason: Option<String>,
    cancel_reason: Option<String>,
    status: &'static str,
    status_class: &'static str,
    payment: &'static str,
    payment_class: &'static str,
    /// What an admin may mark the payment now: (value, button label).
    payment_choices: Vec<(&'static str, &'static str)>,
    booked_on: String,
    is_patient: bool,
    is_staff: bool,
    just_booked: bool,
    moved: bool,
    can_cancel: bool,
    can_reschedule: bool,
    can_start: bool,
    can_complete: bool,
    can_no_show: bool,
    active: bool,
    not_started: bool,
    cancel_hours: i64,
    csrf: String,
    back: String,
    back_label: &'static str,
    cancel_text: String,
    errors: FormErrors,
    video: Option<VideoLink>,
    note: Option<NoteView>,
    messages: Vec<ChatLine>,
    /// The doctor's context: the patient's earlier visits with them.
    is_doctor: bool,
    history: Vec<PastLine>,
}

/// The way into the video visit's room, for its patient and its doctor.
struct VideoLink {
    open: bool,
    /// When it opens, for a room not open yet.
    opens_at: Option<String>,
    patient_waiting: bool,
}

struct NoteView {
    body: String,
    updated: String,
}

/// The video visit as this appointment's page shows it: the room (open, or
/// when it opens), the note and the chat. Nothing for anyone but its two
/// people (an admin sees the appointment, not its visit).
async fn video_parts(
    state: &AppState,
    user: &CurrentUser,
    a: &Appointment,
    tz: &TimeZone,
) -> Result<(Option<VideoLink>, Option<NoteView>, Vec<ChatLine>), PageError> {
    let clinic = &state.clinic;
    if !matches!(user.role(), Some(Role::Patient | Role::Doctor)) {
        return Ok((None, None, Vec::new()));
    }
    let room = video::room(clinic, &user.caller, a.id).await?;
    let link = match room.room.state {
        RoomState::Open => Some(VideoLink {
            open: true,
            opens_at: None,
            patient_waiting: room.you == Role::Doctor && room.present.contains(&Role::Patient),
        }),
        RoomState::NotOpen => Some(VideoLink {
            open: false,
            opens_at: Some(fmt::date_time(&fmt::zoned(room.room.opens_at, tz))),
            patient_waiting: false,
        }),
        RoomState::Closed => None,
    };
    let note = video::note_of(clinic, &user.caller, a)
        .await?
        .map(|n| NoteView {
            body: n.body,
            updated: fmt::date_time(&fmt::zoned(n.updated_at, tz)),
        });
    // A room never opened has no chat: nothing to read (or audit).
    let messages = if room.room.state == RoomState::NotOpen {
        Vec::new()
    } else {
        whole_chat(clinic, &user.caller, a.id)
            .await?
            .into_iter()
            .map(|m| ChatLine::new(m, room.you, tz))
            .collect()
    };
    Ok((link, note, messages))
}

async fn detail_view(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    a: &Appointment,
    cancel_text: String,
    errors: FormErrors,
) -> Result<DetailPage, PageError> {
    let (tz, tz_name) = zone_for(state, viewer, user).await?;
    let start = fmt::zoned(a.start_at, &tz);
    let end = fmt::zoned(a.end_at, &tz);
    let booked = fmt::zoned(a.created_at, &tz);
    let role = user.role();
    let (back, back_label) = match role {
        Some(Role::Patient) | None => ("/appointments".to_owned(), "My appointments"),
        Some(Role::Doctor) => (
            format!("/doctor/week?start={}", fmt::monday_of(start.date())),
            "My week",
        ),
        Some(Role::Admin) => ("/admin/appointments".to_owned(), "All appointments"),
    };
    let is_staff = user.caller.is_staff();
    let (video, note, messages) = video_parts(state, user, a, &tz).await?;
    let is_doctor = role == Some(Role::Doctor);
    let history = if is_doctor {
        video::history(&state.clinic, &user.caller, a.id)
            .await?
            .into_iter()
            .map(|p| PastLine::new(p, &tz))
            .collect()
    } else {
        Vec::new()
    };
    let just_booked = matches!(viewer.flash, Some(Flash::Booked | Flash::Rescheduled));
    let mut layout = viewer.layout_tz("Appointment", if is_staff { "" } else { "appointments" });
    if just_booked {
        // The confirmation card says it already.
        layout.flash = None;
    }
    Ok(DetailPage {
        layout,
        id: a.id.get(),
        date: fmt::long_date(start.date()),
        time: format!("{} – {}", fmt::time(&start), fmt::time(&end)),
        length: fmt::minutes(a.end_at.duration_since(a.start_at).as_mins()),
        tz: tz_name,
        doctor: format!("Dr. {}", a.doctor_name()),
        doctor_id: a.doctor_id.get(),
        patient: a.patient_name(),
        patient_label: a.patient_id.label(),
        reason: a.reason.clone(),
        cancel_reason: a.cancel_reason.clone(),
        status: fmt::status_label(a.status),
        status_class: fmt::status_class(a.status),
        payment: fmt::payment_label(a.payment_status).0,
        payment_class: fmt::payment_label(a.payment_status).1,
        payment_choices: admin::payment_choices(&user.caller, a)
            .into_iter()
            .map(|p| {
                let label = match p {
                    PaymentStatus::Paid => "Mark paid",
                    PaymentStatus::Waived => "Waive the fee",
                    PaymentStatus::Refunded => "Mark refunded",
                    PaymentStatus::Unpaid => "Withdraw the waiver",
                };
                (p.as_str(), label)
            })
            .collect(),
        booked_on: fmt::date_time(&booked),
        is_patient: role == Some(Role::Patient),
        is_staff,
        just_booked,
        moved: viewer.flash == Some(Flash::Rescheduled),
        can_cancel: allowed(state, user, a, Action::Cancel),
        can_reschedule: allowed(state, user, a, Action::Reschedule),
        can_start: is_staff && a.status == Status::Booked && allowed(state, user, a, Action::Start),
        can_complete: is_staff && allowed(state, user, a, Action::Complete),
        can_no_show: is_staff && allowed(state, user, a, Action::NoShow),
        active: a.status.is_active(),
        not_started: a.start_at > state.clinic.now(),
        cancel_hours: state.clinic.settings().cancel_window_hours,
        csrf: user.csrf_token().to_owned(),
        back,
        back_label,
        cancel_text,
        errors,
        video,
        note,
        messages,
        is_doctor,
        history,
    })
}

async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = appointment_id(&id)?;
    let user = viewer.signed_in()?;
    let a = visits::read(&state.clinic, &user.caller, id).await?;
    let page = detail_view(
        &state,
        &viewer,
        user,
        &a,
        String::new(),
        FormErrors::default(),
    )
    .await?;
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

/// What anyone reads when a change to a visit was refused.
fn change_errors(e: &Error) -> FormErrors {
    match e {
        Error::Conflict(Conflict::CancellationWindowPassed(why)) => FormErrors::alert(format!(
            "It is too late to change this visit online: {}. Please call the clinic.",
            why.trim_end_matches('.')
        )),
        Error::Conflict(Conflict::StateChanged) => FormErrors::alert(
            "This visit was changed by someone else a moment ago. Here is how it stands now.",
        ),
        Error::Conflict(Conflict::InvalidTransition(why) | Conflict::VisitNotStarted(why)) => {
            FormErrors::alert(format!(
                "That is not possible now: {}.",
                why.trim_end_matches('.')
            ))
        }
        _ => FormErrors::from_error(e, |f| match f {
            "reason" => Some("Reason"),
            _ => None,
        }),
    }
}

async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<CancelForm>,
) -> PageResult {
    let id = appointment_id(&id)?;
    let UserForm { user, data } = form;
    match visits::cancel(&state.clinic, &user.caller, id, Some(&data.reason)).await {
        Ok(_) => {
            let to = safe_local_path(&data.back)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("/appointments/{id}"));
            Ok(viewer.redirect(&to, Some(Flash::Cancelled)))
        }
        Err(e) if refused_in_place(&e) => {
            let a = visits::read(&state.clinic, &user.caller, id).await?;
            let page =
                detail_view(&state, &viewer, &user, &a, data.reason, change_errors(&e)).await?;
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether a refused change is shown on the visit's own page (with why), rather
/// than as an error page: any refusal of a visit the caller can see.
#[derive(Debug, Deserialize)]
struct PaymentForm {
    #[serde(default)]
    payment_status: String,
}

/// An admin records the visit's payment (the buttons on its page).
async fn set_payment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<PaymentForm>,
) -> PageResult {
    let id = appointment_id(&id)?;
    let UserForm { user, data } = form;
    let Some(to) = PaymentStatus::parse(data.payment_status.trim()) else {
        return Err(PageError::BadForm("That is not a payment status."));
    };
    match admin::set_payment(&state.clinic, &user.caller, id, to).await {
        Ok(_) => Ok(viewer.redirect(&format!("/appointments/{id}"), Some(Flash::PaymentRecorded))),
        Err(e) if refused_in_place(&e) => {
            let a = visits::read(&state.clinic, &user.caller, id).await?;
            let page =
                detail_view(&state, &viewer, &user, &a, String::new(), change_errors(&e)).await?;
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

fn refused_in_place(e: &Error) -> bool {
    status_of(e).is_client_error() && !matches!(e, Error::NotFound(_))
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    #[serde(default)]
    back: String,
}

async fn visit_action(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    form: UserForm<ActionForm>,
    action: Action,
    flash: Flash,
) -> PageResult {
    let id = appointment_id(id)?;
    let UserForm { user, data } = form;
    match visits::act(&state.clinic, &user.caller, id, action, None).await {
        Ok(_) => {
            let to = safe_local_path(&data.back)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("/appointments/{id}"));
            Ok(viewer.redirect(&to, Some(flash)))
        }
        Err(e) if refused_in_place(&e) => {
            let a = visits::read(&state.clinic, &user.caller, id).await?;
            let page =
                detail_view(state, viewer, &user, &a, String::new(), change_errors(&e)).await?;
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn start(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<ActionForm>,
) -> PageResult {
    visit_action(&state, &viewer, &id, form, Action::Start, Flash::Started).await
}

async fn complete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<ActionForm>,
) -> PageResult {
    visit_action(
        &state,
        &viewer,
        &id,
        form,
        Action::Complete,
        Flash::Completed,
    )
    .await
}

async fn no_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<ActionForm>,
) -> PageResult {
    visit_action(&state, &viewer, &id, form, Action::NoShow, Flash::NoShow).await
}

// ---------------------------------------------------------------------------
// Reschedule

#[derive(Template)]
#[template(path = "reschedule.html")]
struct ReschedulePage {
    layout: Layout,
    id: i64,
    doctor: String,
    current: String,
    picker: SlotPicker,
    csrf: String,
    blocked: Option<String>,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
struct WeekQuery {
    week: Option<String>,
}

async fn reschedule_view(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    a: &Appointment,
    week: Option<&str>,
    errors: FormErrors,
) -> Result<ReschedulePage, PageError> {
    let (tz, tz_name) = zone_for(state, viewer, user).await?;
    let picker = slot_picker(
        state,
        Some(user),
        a.doctor_id,
        &tz,
        &tz_name,
        week,
        &format!("/appointments/{}/reschedule", a.id),
        "",
    )
    .await?;
    let start = fmt::zoned(a.start_at, &tz);
    let blocked = (!allowed(state, user, a, Action::Reschedule)).then(|| {
        if a.status.is_active() {
            format!(
                "This visit starts in less than {} hours, so it can no longer be moved online. \
                 Please call the clinic.",
                state.clinic.settings().cancel_window_hours
            )
        } else {
            "Only booked visits can be moved.".to_owned()
        }
    });
    Ok(ReschedulePage {
        layout: viewer.layout_tz("Reschedule", "appointments"),
        id: a.id.get(),
        doctor: format!("Dr. {} {}", a.doctor_first_name, a.doctor_last_name),
        current: fmt::when(&start, today_in(state, &tz)),
        picker,
        csrf: user.csrf_token().to_owned(),
        blocked,
        errors,
    })
}

async fn reschedule_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageQuery(q): PageQuery<WeekQuery>,
) -> PageResult {
    let id = appointment_id(&id)?;
    let user = viewer.signed_in()?;
    let a = visits::read(&state.clinic, &user.caller, id).await?;
    let page = reschedule_view(
        &state,
        &viewer,
        user,
        &a,
        q.week.as_deref(),
        FormErrors::default(),
    )
    .await?;
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
struct RescheduleForm {
    #[serde(default)]
    start: String,
    #[serde(default)]
    week: String,
}

async fn reschedule(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    client: ClientAddr,
    form: UserForm<RescheduleForm>,
) -> PageResult {
    let id = appointment_id(&id)?;
    let UserForm { user, data } = form;
    let start = data
        .start
        .trim()
        .parse::<Timestamp>()
        .ok()
        .filter(|t| crate::domain::reach::instant(*t));
    let (errors, status) = if data.start.trim().is_empty() {
        let mut errors = FormErrors::default();
        errors.add("start", "Choose the new time for your visit");
        (errors, axum::http::StatusCode::UNPROCESSABLE_ENTITY)
    } else if let Some(start) = start {
        let moved = match limits::admit(&state.clinic, Limited::Booking, &user.caller, &client.0) {
            Ok(()) => visits::reschedule(&state.clinic, &user.caller, id, start).await,
            Err(e) => Err(e),
        };
        match moved {
            Ok(_) => {
                return Ok(
                    viewer.redirect(&format!("/appointments/{id}"), Some(Flash::Rescheduled))
                );
            }
            Err(e) if refused_in_place(&e) => {
                let errors = match e {
                    Error::Conflict(Conflict::SlotTaken)
                    | Error::Refused(Refusal::NotAFreeSlot) => booking_errors(&e),
                    _ => change_errors(&e),
                };
                (errors, form_status(&e))
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        let e = Error::Refused(Refusal::NotAFreeSlot);
        (booking_errors(&e), form_status(&e))
    };
    let a = visits::read(&state.clinic, &user.caller, id).await?;
    let page = reschedule_view(&state, &viewer, &user, &a, Some(&data.week), errors).await?;
    Ok(render_status(status, &page))
}
