//! The admin's dashboard: bookings per day, utilization per doctor, the mix of
//! outcomes, cancellation and no-show rates.

use crate::domain::caller::Role;
use crate::domain::person::format_fee;
use crate::http::AppState;
use crate::http::pages::charts::{ColumnChart, Segment, Share, stacked};
use crate::http::pages::errors::PageError;
use crate::http::pages::errors::PageResult;
use crate::http::pages::flash::Flash;
use crate::http::pages::fmt;
use crate::http::pages::forms::UserForm;
use crate::http::pages::layout::Layout;
use crate::http::pages::render::render;
use crate::http::pages::viewer::Viewer;
use crate::usecases::{admin, clinic};
use askama::Template;
use axum::extract::State;

pub struct Kpi {
    pub value: String,
    pub label: &'static str,
    pub note: String,
}

pub struct UtilRow {
    pub name: String,
    pub specialty: String,
    pub past: Share,
    pub past_note: String,
    pub next: Share,
    pub next_note: String,
}

/// One doctor's money on the dashboard.
pub struct MoneyRow {
    pub name: String,
    pub paid_visits: i64,
    pub revenue: String,
    pub outstanding_visits: i64,
    pub outstanding: String,
}

pub struct DayRow {
    pub date: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
struct DashboardPage {
    layout: Layout,
    kpis: Vec<Kpi>,
    chart: ColumnChart,
    days: Vec<DayRow>,
    bookings_total: i64,
    util: Vec<UtilRow>,
    mix: Vec<Segment>,
    mix_total: i64,
    cancel: Share,
    no_show: Share,
    money: Vec<MoneyRow>,
    revenue_total: String,
    outstanding_total: String,
    /// Demo accounts exist: offer to remove them.
    demo: bool,
    csrf: String,
}

fn hours_text(secs: i64) -> String {
    let h = secs as f64 / 3600.0;
    if h >= 10.0 {
        format!("{h:.0} h")
    } else {
        format!("{h:.1} h")
    }
}

fn share(r: clinic::Ratio) -> Share {
    Share::of(r.part, r.whole)
}

pub(super) async fn dashboard(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.require(Role::Admin)?;
    let figures = clinic::dashboard(&state.clinic, &user.caller, &viewer.tz).await?;
    let mut days = Vec::new();
    let mut points = Vec::new();
    let mut bookings_total = 0;
    for &(d, count) in &figures.bookings_per_day {
        bookings_total += count;
        points.push((
            d.strftime("%-d %b").to_string(),
            format!(
                "{}: {count} booking{}",
                fmt::short_date(d),
                if count == 1 { "" } else { "s" }
            ),
            count,
        ));
        days.push(DayRow {
            date: fmt::short_date(d),
            count,
        });
    }
    let m = figures.mix;
    let mix_total = m.total();
    let mix = stacked(&[
        ("Completed", "seg-completed", m.completed),
        ("No-show", "seg-noshow", m.no_show),
        ("Cancelled", "seg-cancelled", m.cancelled),
        ("Not closed yet", "seg-open", m.open),
    ]);
    let cancel = share(figures.cancellation_rate);
    let no_show_share = share(figures.no_show_rate);
    let util = figures
        .utilization
        .iter()
        .map(|u| UtilRow {
            name: format!("Dr. {}", u.doctor.full_name()),
            specialty: u.doctor.specialty.clone(),
            past: share(u.past),
            past_note: format!(
                "{} of {}",
                hours_text(u.past.part),
                hours_text(u.past.whole)
            ),
            next: share(u.next),
            next_note: format!(
                "{} of {}",
                hours_text(u.next.part),
                hours_text(u.next.whole)
            ),
        })
        .collect();
    let kpis = vec![
        Kpi {
            value: bookings_total.to_string(),
            label: "bookings made",
            note: "last 30 days".to_owned(),
        },
        Kpi {
            value: figures.upcoming.to_string(),
            label: "upcoming visits",
            note: format!(
                "next 14 days, {} booked",
                hours_text(figures.upcoming_seconds)
            ),
        },
        Kpi {
            value: cancel.label.clone(),
            label: "cancellation rate",
            note: format!("{} of {mix_total} visits, last 30 days", m.cancelled),
        },
        Kpi {
            value: no_show_share.label.clone(),
            label: "no-show rate",
            note: format!("{} of {} held visits", m.no_show, m.held()),
        },
    ];
    let money: Vec<MoneyRow> = figures
        .money
        .iter()
        .map(|m| MoneyRow {
            name: format!("Dr. {}", m.doctor.full_name()),
            paid_visits: m.paid_visits,
            revenue: format_fee(m.revenue_cents),
            outstanding_visits: m.outstanding_visits,
            outstanding: format_fee(m.outstanding_cents),
        })
        .collect();
    let revenue_total = format_fee(figures.money.iter().map(|m| m.revenue_cents).sum());
    let outstanding_total = format_fee(figures.money.iter().map(|m| m.outstanding_cents).sum());
    let demo = admin::demo_present(&state.clinic, &user.caller).await?;
    let page = DashboardPage {
        layout: viewer.layout_tz("Dashboard", "dashboard"),
        kpis,
        chart: ColumnChart::new(&points, 5),
        days,
        bookings_total,
        util,
        mix,
        mix_total,
        cancel,
        no_show: no_show_share,
        money,
        revenue_total,
        outstanding_total,
        demo,
        csrf: user.csrf_token().to_owned(),
    };
    Ok(render(&page))
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// The dashboard's button: removes the demo clinic (see
/// [`crate::usecases::admin::remove_demo`]).
pub(super) async fn remove_demo(
    viewer: Viewer,
    State(state): State<AppState>,
    form: UserForm<ConfirmForm>,
) -> PageResult {
    let user = super::admin_form(&form)?;
    if form.data.confirm != "yes" {
        return Err(PageError::BadForm(
            "Tick the box to confirm that the demo clinic is to be removed.",
        ));
    }
    admin::remove_demo(&state.clinic, &user.caller).await?;
    Ok(viewer.redirect("/admin", Some(Flash::DemoRemoved)))
}
