//! The admin's webhooks page: the notification queue's figures, the
//! deliveries that died, every webhook endpoint with its latest deliveries,
//! and adding, testing, rotating, turning on or off and deleting endpoints
//! (the use cases of [`crate::usecases::webhooks`], as the JSON API has them).
//!
//! An endpoint's signing secret is shown once: the page that answers the
//! form that made it (adding an endpoint, rotating its secret) prints it, and
//! nothing keeps it for later (no cookie, no redirect carrying it), so any
//! later visit to the page no longer has it.

use super::admin_form;
use crate::domain::caller::Role;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::http::pages::doctor::hours::Pairs;
use crate::http::pages::doctor::time_off::Empty;
use crate::http::pages::errors::{FormErrors, PageResult, form_status, status_of};
use crate::http::pages::flash::Flash;
use crate::http::pages::fmt;
use crate::http::pages::forms::UserForm;
use crate::http::pages::layout::Layout;
use crate::http::pages::patient::{id_of, today_in};
use crate::http::pages::render::{render, render_status};
use crate::http::pages::viewer::Viewer;
use crate::usecases::Error;
use crate::usecases::webhooks::{self, Delivery, EVENT_TYPES, Webhook};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

/// How many of an endpoint's latest deliveries the page lists.
const RECENT: i64 = 10;

/// One figure of the queue.
pub struct Figure {
    pub value: String,
    pub label: &'static str,
    pub note: &'static str,
}

/// A delivery as a table row.
pub struct DeliveryLine {
    pub when: String,
    pub what: String,
    pub channel: &'static str,
    pub state: &'static str,
    pub state_class: &'static str,
    pub attempts: i64,
    pub due: String,
    pub sent: Option<String>,
    pub error: Option<String>,
    pub appointment_id: Option<i64>,
    pub failed: bool,
}

pub struct EndpointView {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created: String,
    pub previous_until: Option<String>,
    pub deliveries: Vec<DeliveryLine>,
    pub failures: usize,
}

/// A secret shown this once, right after it was made.
pub struct Reveal {
    pub endpoint_id: i64,
    pub url: String,
    pub secret: String,
    pub rotated: bool,
    /// Until when the old secret keeps signing (after a rotation).
    pub old_until: Option<String>,
}

/// An event's checkbox on the add form.
pub struct EventChoice {
    pub index: usize,
    pub value: &'static str,
    pub about: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "admin_webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    csrf: String,
    figures: Vec<Figure>,
    dead: Vec<DeliveryLine>,
    endpoints: Vec<EndpointView>,
    reveal: Option<Reveal>,
    url: String,
    events: Vec<EventChoice>,
    errors: FormErrors,
}

/// What was typed in the add form (shown again with its errors).
struct AddForm {
    url: String,
    events: Vec<String>,
}

impl AddForm {
    /// A fresh form: every event ticked, the usual choice.
    fn fresh() -> Self {
        AddForm {
            url: String::new(),
            events: EVENT_TYPES.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    fn from_pairs(pairs: &Pairs) -> Self {
        let mut form = AddForm {
            url: String::new(),
            events: Vec::new(),
        };
        for (k, v) in pairs {
            match k.as_str() {
                "url" => v.trim().clone_into(&mut form.url),
                "events" => form.events.push(v.clone()),
                _ => {}
            }
        }
        form
    }
}

fn about(event: &str) -> &'static str {
    match event {
        "appointment.booked" => "a visit is booked",
        "appointment.cancelled" => "a visit is cancelled",
        "appointment.rescheduled" => "a visit is moved to another time",
        "appointment.status_changed" => "a visit starts, is completed or is a no-show",
        _ => "",
    }
}

fn at(t: Timestamp, tz: &TimeZone, today: Date) -> String {
    fmt::when(&fmt::zoned(t, tz), today)
}

/// `45 s`, `3 min`, `2 h 5 min`.
fn age(secs: i64) -> String {
    if secs < 60 {
        format!("{} s", secs.max(0))
    } else {
        fmt::minutes(secs / 60)
    }
}

fn state_view(state: &str) -> (&'static str, &'static str) {
    match state {
        "pending" => ("Pending", "badge-progress"),
        "sent" => ("Sent", "badge-completed"),
        "dead" => ("Failed for good", "badge-noshow"),
        "dropped" => ("Dropped", "badge-cancelled"),
        "not_configured" => ("No channel set up", "badge-cancelled"),
        _ => ("Unknown", "badge-cancelled"),
    }
}

fn channel_label(channel: &str) -> &'static str {
    match channel {
        "email" => "Email",
        "sms" => "SMS",
        "webhook" => "Webhook",
        _ => "Other",
    }
}

/// What a delivery carried, as an admin reads it.
fn what(d: &Delivery) -> String {
    match (d.kind.as_str(), d.event.as_deref()) {
        ("test", _) => "Test event".to_owned(),
        ("reminder", _) => "Reminder".to_owned(),
        (_, Some(e)) if d.channel == "webhook" => format!("appointment.{e}"),
        (_, Some(e)) => format!("Notice: {}", e.replace('_', " ")),
        (kind, None) => kind.replace('_', " "),
    }
}

fn line(d: Delivery, tz: &TimeZone, today: Date) -> DeliveryLine {
    let (state, state_class) = state_view(&d.state);
    DeliveryLine {
        when: at(d.created_at, tz, today),
        what: what(&d),
        channel: channel_label(&d.channel),
        state,
        state_class,
        attempts: d.attempts,
        due: at(d.due_at, tz, today),
        sent: d.sent_at.map(|t| at(t, tz, today)),
        failed: d.last_error.is_some() || d.state == "dead",
        error: d.last_error,
        appointment_id: d.appointment_id,
    }
}

fn figures(report: &webhooks::QueueReport) -> Vec<Figure> {
    let f = &report.figures;
    let n = |v: i64| v.to_string();
    vec![
        Figure {
            value: n(f.pending),
            label: "Pending",
            note: "waiting to go out, now or later",
        },
        Figure {
            value: n(f.due),
            label: "Due now",
            note: "pending and due",
        },
        Figure {
            value: if f.due > 0 {
                age(report.oldest_due_age_secs)
            } else {
                "–".to_owned()
            },
            label: "Oldest due",
            note: "how long the oldest due one has waited",
        },
        Figure {
            value: n(f.retrying),
            label: "Retrying",
            note: "pending after a failed try",
        },
        Figure {
            value: n(f.sent),
            label: "Sent",
            note: "delivered",
        },
        Figure {
            value: n(f.dead),
            label: "Failed for good",
            note: "gave up after retries or a refusal",
        },
        Figure {
            value: n(f.dropped),
            label: "Dropped",
            note: "no longer wanted (visit changed, channel turned off)",
        },
        Figure {
            value: n(f.not_configured),
            label: "No channel",
            note: "kept: that channel is not set up",
        },
    ]
}

/// The whole page, with `reveal` (a secret just made), `form` and `errors`
/// for the add form.
async fn page(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    reveal: Option<Reveal>,
    form: AddForm,
    errors: FormErrors,
) -> Result<WebhooksPage, Error> {
    let clinic = &state.clinic;
    let caller = &user.caller;
    let tz = &viewer.tz;
    let today = today_in(state, tz);
    let report = webhooks::queue(clinic, caller).await?;
    let mut endpoints = Vec::new();
    for w in webhooks::list(clinic, caller).await? {
        let deliveries = match webhooks::deliveries(clinic, caller, w.id, Some(RECENT)).await {
            Ok(d) => d,
            // Deleted since the list was read: not on the page either.
            Err(Error::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let deliveries: Vec<DeliveryLine> =
            deliveries.into_iter().map(|d| line(d, tz, today)).collect();
        let Webhook {
            id,
            url,
            events,
            active,
            disabled_reason,
            created_at,
            previous_secret_until,
        } = w;
        endpoints.push(EndpointView {
            id,
            url,
            events,
            active,
            disabled_reason,
            created: at(created_at, tz, today),
            previous_until: previous_secret_until.map(|t| at(t, tz, today)),
            failures: deliveries.iter().filter(|d| d.failed).count(),
            deliveries,
        });
    }
    let events = EVENT_TYPES
        .iter()
        .enumerate()
        .map(|(index, value)| EventChoice {
            index,
            value,
            about: about(value),
            checked: form.events.iter().any(|e| e == value),
        })
        .collect();
    Ok(WebhooksPage {
        layout: viewer.layout_tz("Webhooks & notifications", "admin-webhooks"),
        csrf: user.csrf_token().to_owned(),
        figures: figures(&report),
        dead: report
            .dead
            .into_iter()
            .map(|d| line(d, tz, today))
            .collect(),
        endpoints,
        reveal,
        url: form.url,
        events,
        errors,
    })
}

pub(super) async fn webhooks_page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let p = page(
        &state,
        &viewer,
        user,
        None,
        AddForm::fresh(),
        FormErrors::default(),
    )
    .await?;
    Ok(render(&p))
}

/// An address that only answers forms (`.../rotate`, opened again by hand):
/// back to the page, for admins.
pub(super) async fn back_to_page(viewer: Viewer) -> PageResult {
    viewer.require(Role::Admin)?;
    Ok(viewer.redirect("/admin/webhooks", None))
}

fn label(field: &str) -> Option<&'static str> {
    Some(match field {
        "url" => "The URL",
        "events" => "Events",
        _ => return None,
    })
}

pub(super) async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<Pairs>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let add = AddForm::from_pairs(&form.data);
    match webhooks::create(&state.clinic, &user.caller, &add.url, &add.events).await {
        Ok((w, secret)) => {
            let reveal = Reveal {
                endpoint_id: w.id,
                url: w.url,
                secret,
                rotated: false,
                old_until: None,
            };
            let p = page(
                &state,
                &viewer,
                &user,
                Some(reveal),
                AddForm::fresh(),
                FormErrors::default(),
            )
            .await?;
            Ok(render_status(StatusCode::CREATED, &p))
        }
        Err(e) if status_of(&e).is_client_error() && !matches!(e, Error::NotFound(_)) => {
            let mut errors = FormErrors::from_error(&e, label);
            if errors.has("events") {
                errors.fields.retain(|f| f.field != "events");
                errors.add("events", "Choose at least one of the events below.");
            }
            let p = page(&state, &viewer, &user, None, add, errors).await?;
            Ok(render_status(form_status(&e), &p))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn rotate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Empty>,
) -> PageResult {
    let user = admin_form(&form)?.clone();
    let id = id_of(&id)?;
    let (w, secret) = webhooks::rotate(&state.clinic, &user.caller, id).await?;
    let today = today_in(&state, &viewer.tz);
    let reveal = Reveal {
        endpoint_id: w.id,
        url: w.url,
        secret,
        rotated: true,
        old_until: w.previous_secret_until.map(|t| at(t, &viewer.tz, today)),
    };
    let p = page(
        &state,
        &viewer,
        &user,
        Some(reveal),
        AddForm::fresh(),
        FormErrors::default(),
    )
    .await?;
    Ok(render(&p))
}

pub(super) async fn send_test(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Empty>,
) -> PageResult {
    let user = admin_form(&form)?;
    let id = id_of(&id)?;
    webhooks::send_test(&state.clinic, &user.caller, id).await?;
    Ok(viewer.redirect(
        &format!("/admin/webhooks#endpoint-{id}"),
        Some(Flash::WebhookTestQueued),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ActiveForm {
    #[serde(default)]
    active: String,
}

pub(super) async fn set_active(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<ActiveForm>,
) -> PageResult {
    let user = admin_form(&form)?;
    let id = id_of(&id)?;
    let active = form.data.active == "true";
    webhooks::update(&state.clinic, &user.caller, id, None, Some(active)).await?;
    let flash = if active {
        Flash::WebhookOn
    } else {
        Flash::WebhookOff
    };
    Ok(viewer.redirect(&format!("/admin/webhooks#endpoint-{id}"), Some(flash)))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Empty>,
) -> PageResult {
    let user = admin_form(&form)?;
    let id = id_of(&id)?;
    webhooks::delete(&state.clinic, &user.caller, id).await?;
    Ok(viewer.redirect("/admin/webhooks", Some(Flash::WebhookDeleted)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_add_form_reads_every_ticked_event() {
        let pairs: Pairs = [
            ("csrf", "t"),
            ("url", " https://ehr.example/hook "),
            ("events", "appointment.booked"),
            ("events", "appointment.cancelled"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let f = AddForm::from_pairs(&pairs);
        assert_eq!(f.url, "https://ehr.example/hook");
        assert_eq!(f.events, ["appointment.booked", "appointment.cancelled"]);
        assert!(AddForm::from_pairs(&Vec::new()).events.is_empty());
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5), "5 s");
        assert_eq!(age(-3), "0 s");
        assert_eq!(age(125), "2 min");
        assert_eq!(age(3 * 3600 + 60), "3 h 1 min");
    }
}
