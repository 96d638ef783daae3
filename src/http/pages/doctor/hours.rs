//! The working hours editor: visit length, break and the weekly intervals,
//! with a preview of the slots they produce over the next 7 days. The same
//! page lists the time off (added and removed by `time_off.rs`). The doctor
//! edits their own under `/doctor/hours`; an admin edits any doctor's through
//! the same functions (`src/http/pages/admin/doctors.rs`).

use super::{own_ctx, zone_of};
use crate::domain::caller::Role;
use crate::domain::doctor::Doctor;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::http::pages::affected::{AffectedPanel, PageChoice};
use crate::http::pages::errors::{FormErrors, PageError, PageResult, form_status, status_of};
use crate::http::pages::flash::Flash;
use crate::http::pages::fmt;
use crate::http::pages::forms::UserForm;
use crate::http::pages::layout::Layout;
use crate::http::pages::patient::today_in;
use crate::http::pages::render::{render, render_status};
use crate::http::pages::viewer::Viewer;
use crate::usecases::Error;
use crate::usecases::schedule::{self, Hours, HoursInterval};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::civil::{Date, Weekday};

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

/// One date-specific override as listed on the page.
pub struct OverrideView {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// "Mon 24 Dec".
    pub label: String,
    /// "Closed" or "09:00–12:00, 13:00–15:00".
    pub hours: String,
}

/// The "add an override" form as typed.
#[derive(Default)]
pub struct OverrideInput {
    pub date: String,
    /// Up to two `(start, end)` intervals.
    pub rows: [(String, String); 2],
}

pub struct OverrideRowView {
    pub i: usize,
    pub n: usize,
    pub start: String,
    pub end: String,
    pub error: Option<String>,
}

impl OverrideInput {
    fn rows_view(&self, errors: &FormErrors) -> Vec<OverrideRowView> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, (start, end))| OverrideRowView {
                i,
                n: i + 1,
                start: start.clone(),
                end: end.clone(),
                error: errors.get(&format!("ov_r{i}")).map(str::to_owned),
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "doctor_hours.html")]
pub(super) struct HoursPage {
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
    overrides: Vec<OverrideView>,
    ov: OverrideInput,
    errors: FormErrors,
    /// Set when a change was refused because it affects booked visits.
    pub(super) affected: Option<AffectedPanel>,
}

const MAX_ROWS: usize = 8;

/// The form's state: visit length, buffer and the rows of each weekday.
pub(super) struct HoursInput {
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
            let text = crate::http::pages::errors::capitalize(msg);
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

pub(super) struct OffInput {
    pub(super) start: String,
    pub(super) end: String,
    pub(super) reason: String,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn hours_page(
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
        overrides: stored
            .overrides
            .iter()
            .map(|o| OverrideView {
                label: o
                    .date
                    .parse::<Date>()
                    .map(fmt::short_date)
                    .unwrap_or_else(|_| o.date.clone()),
                date: o.date.clone(),
                hours: if o.intervals.is_empty() {
                    "Closed".to_owned()
                } else {
                    o.intervals
                        .iter()
                        .map(|(s, e)| format!("{s}–{e}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
            .collect(),
        ov: OverrideInput::default(),
        errors,
        affected: None,
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
    let choice = PageChoice::read(pairs);
    let result = if action == "preview" {
        doc.to_rows().map(|_| ()).map_err(Error::Invalid)
    } else {
        schedule::set_hours(&state.clinic, &user.caller, ctx.doctor.id, &doc, &choice.on)
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
            let panel = Refused {
                action: format!("{}/hours", ctx.base),
                fields: pairs,
                what: "These hours leave out",
                choice: &choice,
            };
            if let Some(page) = panel.page(state, viewer, user, ctx, &e).await? {
                return Ok(page);
            }
            let errors = hours_errors(&e, &input);
            let page =
                hours_page(state, viewer, user, ctx, Some(&input), None, errors, false).await?;
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// A form's raw pairs (the hours editor has a variable number of fields).
pub type Pairs = Vec<(String, String)>;

/// A change refused because it affects booked visits, to show with the
/// panel of choices (decision 0022).
pub(super) struct Refused<'a> {
    pub(super) action: String,
    pub(super) fields: &'a [(String, String)],
    pub(super) what: &'static str,
    pub(super) choice: &'a PageChoice,
}

impl Refused<'_> {
    /// The hours page with the panel, if `e` is that refusal.
    pub(super) async fn page(
        &self,
        state: &AppState,
        viewer: &Viewer,
        user: &CurrentUser,
        ctx: &HoursCtx,
        e: &Error,
    ) -> Result<Option<axum::response::Response>, PageError> {
        let tz = zone_of(&ctx.doctor);
        let today = today_in(state, &tz);
        let Some(panel) = AffectedPanel::of_error(
            e,
            self.action.clone(),
            user.csrf_token(),
            self.fields,
            self.what,
            &tz,
            today,
            self.choice,
        ) else {
            return Ok(None);
        };
        let mut page = hours_page(
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
        page.affected = Some(panel);
        Ok(Some(render_status(StatusCode::CONFLICT, &page)))
    }
}

/// Adds (or replaces) the override of one date, or with `remove` takes it
/// away: the whole hours saved again through the use case, so the same
/// validation and the same check of booked visits apply.
pub async fn post_override(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    ctx: &HoursCtx,
    pairs: &[(String, String)],
    remove: bool,
) -> PageResult {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let choice = PageChoice::read(pairs);
    let input = OverrideInput {
        date: get("ov_date"),
        rows: [(get("ov_s0"), get("ov_e0")), (get("ov_s1"), get("ov_e1"))],
    };
    let stored = schedule::hours(&state.clinic, &user.caller, ctx.doctor.id).await?;
    let mut doc = stored.clone();
    doc.overrides.retain(|o| o.date != input.date);
    let mut errors = FormErrors::default();
    if !remove {
        if input.date.parse::<Date>().is_err() {
            errors.add("ov_date", "Give the date as YYYY-MM-DD, e.g. 2026-12-24");
        }
        let mut intervals = Vec::new();
        for (i, (start, end)) in input.rows.iter().enumerate() {
            match (start.is_empty(), end.is_empty()) {
                (true, true) => {}
                (false, false) => intervals.push((start.clone(), end.clone())),
                _ => errors.add(
                    &format!("ov_r{i}"),
                    "Give both a start and an end time, or clear both",
                ),
            }
        }
        doc.overrides.push(schedule::OverrideDay {
            date: input.date.clone(),
            intervals,
        });
        doc.overrides.sort_by(|a, b| a.date.cmp(&b.date));
    } else if doc.overrides.len() == stored.overrides.len() {
        return Ok(viewer.redirect(&format!("{}/hours#overrides", ctx.base), None));
    }
    if errors.is_empty() {
        match schedule::set_hours(&state.clinic, &user.caller, ctx.doctor.id, &doc, &choice.on)
            .await
        {
            Ok(_) => {
                let flash = if remove {
                    Flash::OverrideRemoved
                } else {
                    Flash::OverrideSaved
                };
                return Ok(viewer.redirect(&format!("{}/hours#overrides", ctx.base), Some(flash)));
            }
            Err(e) if status_of(&e).is_client_error() && !matches!(e, Error::NotFound(_)) => {
                let refused = Refused {
                    action: format!(
                        "{}/overrides{}",
                        ctx.base,
                        if remove { "/delete" } else { "" }
                    ),
                    fields: pairs,
                    what: if remove {
                        "Removing these date-specific hours leaves out"
                    } else {
                        "These date-specific hours leave out"
                    },
                    choice: &choice,
                };
                if let Some(page) = refused.page(state, viewer, user, ctx, &e).await? {
                    return Ok(page);
                }
                for f in e.fields() {
                    if f.field.ends_with(".date") {
                        errors.add(
                            "ov_date",
                            crate::http::pages::errors::capitalize(&f.message),
                        );
                    } else {
                        let text = crate::http::pages::errors::capitalize(&f.message);
                        match &mut errors.alert {
                            Some(a) => {
                                a.push(' ');
                                a.push_str(&text);
                            }
                            None => errors.alert = Some(text),
                        }
                    }
                }
                if errors.is_empty() {
                    errors.alert = Some(e.detail());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut page = hours_page(state, viewer, user, ctx, None, None, errors, false).await?;
    page.ov = input;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub(super) async fn save_own_override(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<Pairs>,
) -> PageResult {
    if form.user.role() != Some(Role::Doctor) {
        return Err(PageError::not_found());
    }
    let ctx = own_ctx(&state, &form.user).await?;
    post_override(&state, &viewer, &form.user, &ctx, &form.data, false).await
}

pub(super) async fn remove_own_override(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<Pairs>,
) -> PageResult {
    if form.user.role() != Some(Role::Doctor) {
        return Err(PageError::not_found());
    }
    let ctx = own_ctx(&state, &form.user).await?;
    post_override(&state, &viewer, &form.user, &ctx, &form.data, true).await
}

pub(super) async fn own_hours(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Doctor)?;
    let ctx = own_ctx(&state, user).await?;
    show_hours(&state, &viewer, user, &ctx).await
}

pub(super) async fn save_own_hours(
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
}
