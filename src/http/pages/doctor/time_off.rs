//! Time off: adding and removing the hours a doctor does not work, for the
//! doctor (`/doctor/time-off`) and for an admin (through the same functions).
//! A form with errors is shown again on the hours page.

use super::hours::{HoursCtx, OffInput, Refused, hours_page};
use super::{own_ctx, zone_of};
use crate::domain::caller::Role;
use crate::domain::ids::TimeOffId;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::http::pages::affected::PageChoice;
use crate::http::pages::errors::{FormErrors, PageError, PageResult, status_of};
use crate::http::pages::flash::Flash;
use crate::http::pages::forms::UserForm;
use crate::http::pages::patient::id_of;
use crate::http::pages::render::render_status;
use crate::http::pages::viewer::Viewer;
use crate::usecases::Error;
use crate::usecases::schedule::{self, NewTimeOff};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct TimeOffForm {
    #[serde(default)]
    off_start: String,
    #[serde(default)]
    off_end: String,
    #[serde(default)]
    off_reason: String,
    #[serde(default)]
    affected: String,
    #[serde(default)]
    cancel_reason: String,
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
    let instant = |s: &str| {
        local_instant(s, &tz)
            .and_then(|t| t.parse::<Timestamp>().ok())
            .filter(|t| crate::domain::reach::instant(*t))
    };
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
        let choice = PageChoice::new(&form.affected, &form.cancel_reason);
        match schedule::add_time_off(&state.clinic, &user.caller, ctx.doctor.id, &req, &choice.on)
            .await
        {
            Ok(_) => {
                return Ok(viewer.redirect(
                    &format!("{}/hours#time-off", ctx.base),
                    Some(Flash::TimeOffAdded),
                ));
            }
            Err(e) if status_of(&e).is_client_error() && !matches!(e, Error::NotFound(_)) => {
                let fields = [
                    ("off_start".to_owned(), form.off_start.clone()),
                    ("off_end".to_owned(), form.off_end.clone()),
                    ("off_reason".to_owned(), form.off_reason.clone()),
                ];
                let refused = Refused {
                    action: format!("{}/time-off", ctx.base),
                    fields: &fields,
                    what: "This time off covers",
                    choice: &choice,
                };
                if let Some(page) = refused.page(state, viewer, user, ctx, &e).await? {
                    return Ok(page);
                }
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

pub(super) async fn add_own_time_off(
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

pub(super) async fn remove_own_time_off(
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
