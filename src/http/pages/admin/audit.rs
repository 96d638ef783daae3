//! The audit log for admins: who did what to which record, when; filtered by
//! who acted, the action, the record and dates (in the viewer's zone), fifty
//! to a page, and the filtered entries as CSV.

use crate::domain::audit::AuditRecord;
use crate::domain::caller::Role;
use crate::domain::ids::AccountId;
use crate::http::AppState;
use crate::http::audit_csv;
use crate::http::cursor::{cursor_numbers, encode_cursor};
use crate::http::pages::errors::{FormErrors, PageError, PageResult, status_of};
use crate::http::pages::fmt;
use crate::http::pages::forms::PageQuery;
use crate::http::pages::layout::Layout;
use crate::http::pages::patient::Choice;
use crate::http::pages::render::render_status;
use crate::http::pages::viewer::Viewer;
use crate::usecases::Error;
use crate::usecases::clinic::{self, AuditQuery};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

/// The kinds of record the log names (the `entity` filter's choices).
const ENTITIES: [(&str, &str); 10] = [
    ("appointment", "Appointment"),
    ("visit", "Video visit"),
    ("patient", "Patient"),
    ("doctor", "Doctor"),
    ("admin", "Admin"),
    ("account", "Account"),
    ("calendar", "Calendar feed"),
    ("slot", "Slot hold"),
    ("webhook", "Webhook"),
    ("clinic", "Clinic"),
];

pub struct AuditLine {
    pub id: i64,
    pub when: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    pub detail: String,
    /// A link to the record, where it has a page.
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    layout: Layout,
    actor: String,
    actions: Vec<Choice>,
    entities: Vec<Choice>,
    entity_id: String,
    from: String,
    to: String,
    filtered: bool,
    lines: Vec<AuditLine>,
    next: Option<String>,
    /// The CSV export of the same filters.
    export: String,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

fn nonempty(o: &Option<String>) -> Option<String> {
    o.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The filters as typed, read into the use case's query; every bad field
/// named in `errors`.
fn query_of(f: &Filters, tz: &TimeZone, errors: &mut FormErrors) -> AuditQuery {
    let mut number = |field: &str, label: &str, v: &Option<String>| {
        let s = nonempty(v)?;
        match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errors.add(field, format!("{label} must be a whole number above 0"));
                None
            }
        }
    };
    let actor = number("actor", "Account id", &f.actor);
    let entity_id = number("entity_id", "Record id", &f.entity_id);
    let mut date = |field: &str, v: &Option<String>| -> Option<Date> {
        let s = nonempty(v)?;
        match s.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(field, "Dates must be written YYYY-MM-DD");
                None
            }
        }
    };
    let from = date("from", &f.from);
    let to = date("to", &f.to);
    AuditQuery {
        actor: actor.map(AccountId::new),
        action: nonempty(&f.action),
        entity: nonempty(&f.entity),
        entity_id,
        from: from.map(|d| fmt::start_of(d, tz)),
        // "Until" a day includes that day.
        to: to.map(|d| fmt::start_of(fmt::add_days(d, 1), tz)),
        before: None,
        limit: Some(50),
    }
}

/// The filters as a query string (for the next page and the export).
fn query_string(f: &Filters) -> String {
    [
        ("actor", &f.actor),
        ("action", &f.action),
        ("entity", &f.entity),
        ("entity_id", &f.entity_id),
        ("from", &f.from),
        ("to", &f.to),
    ]
    .iter()
    .filter_map(|(k, v)| nonempty(v).map(|v| format!("{k}={}", fmt::url_encode(&v))))
    .collect::<Vec<_>>()
    .join("&")
}

fn line(r: AuditRecord, tz: &TimeZone) -> AuditLine {
    let link = match r.entity.as_str() {
        "appointment" | "visit" => Some(format!("/appointments/{}", r.entity_id)),
        "doctor" => Some(format!("/admin/doctors/{}", r.entity_id)),
        "patient" => Some(format!("/admin/appointments?patient_id={}", r.entity_id)),
        _ => None,
    };
    AuditLine {
        id: r.id,
        when: fmt::date_time(&fmt::zoned(r.at, tz)),
        actor: r
            .actor_account_id
            .map_or_else(|| "system".to_owned(), |a| format!("account {a}")),
        action: r.action,
        entity: r.entity,
        entity_id: r.entity_id,
        detail: r.detail.unwrap_or_default(),
        link,
    }
}

pub(super) async fn audit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(f): PageQuery<Filters>,
) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let tz = viewer.tz.clone();
    let mut errors = FormErrors::default();
    let mut q = query_of(&f, &tz, &mut errors);
    q.before = nonempty(&f.cursor)
        .as_deref()
        .and_then(cursor_numbers)
        .and_then(|c| c.first().copied());
    let filters = query_string(&f);
    let mut lines = Vec::new();
    let mut next = None;
    if errors.is_empty() {
        match clinic::audit_log(&state.clinic, &user.caller, &q).await {
            Ok((rows, more)) => {
                if more {
                    next = rows.last().map(|r| {
                        let sep = if filters.is_empty() { "" } else { "&" };
                        format!(
                            "/admin/audit?{filters}{sep}cursor={}",
                            encode_cursor(&[r.id])
                        )
                    });
                }
                lines = rows.into_iter().map(|r| line(r, &tz)).collect();
            }
            Err(e) if status_of(&e).is_client_error() => {
                errors = FormErrors::from_error(&e, |f| match f {
                    "to" => Some("Until"),
                    _ => None,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    let action = nonempty(&f.action);
    let actions = clinic::audit_actions(&state.clinic, &user.caller)
        .await?
        .into_iter()
        .map(|a| Choice {
            selected: action.as_deref() == Some(a.as_str()),
            label: a.clone(),
            value: a,
        })
        .collect();
    let entity = nonempty(&f.entity);
    let entities = ENTITIES
        .iter()
        .map(|(k, l)| Choice {
            value: (*k).to_owned(),
            label: (*l).to_owned(),
            selected: entity.as_deref() == Some(*k),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AuditPage {
        layout: viewer.layout_tz("Audit log", "admin-audit"),
        actor: nonempty(&f.actor).unwrap_or_default(),
        actions,
        entities,
        entity_id: nonempty(&f.entity_id).unwrap_or_default(),
        from: nonempty(&f.from).unwrap_or_default(),
        to: nonempty(&f.to).unwrap_or_default(),
        filtered: !filters.is_empty(),
        lines,
        next,
        export: if filters.is_empty() {
            "/admin/audit.csv".to_owned()
        } else {
            format!("/admin/audit.csv?{filters}")
        },
        errors,
    };
    Ok(render_status(status, &page))
}

/// The filtered entries as CSV (all of them, not one page).
pub(super) async fn audit_csv(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(f): PageQuery<Filters>,
) -> Result<Response, PageError> {
    let user = viewer.require(Role::Admin)?;
    let mut errors = FormErrors::default();
    let q = query_of(&f, &viewer.tz, &mut errors);
    if !errors.is_empty() {
        return Err(PageError::BadForm(
            "The filters are not valid: correct them on the audit page first.",
        ));
    }
    let rows = clinic::audit_export(&state.clinic, &user.caller, &q).await?;
    let body = audit_csv::audit_csv(&rows).map_err(|e| PageError::Failed(Error::internal(&e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
