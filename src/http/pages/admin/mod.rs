//! The admin's pages: the clinic dashboard (`dashboard.rs`), doctors (list,
//! add, edit, deactivate, their hours; `doctors.rs`), and every appointment
//! with filters (`appointments.rs`), the webhook endpoints with the
//! notification queue (`webhooks.rs`), the audit log with its filters and
//! CSV export (`audit.rs`) and the admin accounts (`admins.rs`).

mod admins;
mod appointments;
mod audit;
mod dashboard;
mod doctors;
mod webhooks;

use crate::domain::caller::Role;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::http::pages::errors::PageError;
use crate::http::pages::forms::UserForm;
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard::dashboard))
        .route("/admin/demo/remove", post(dashboard::remove_demo))
        .route("/admin/audit", get(audit::audit_page))
        .route("/admin/audit.csv", get(audit::audit_csv))
        .route("/admin/admins", get(admins::admins_page).post(admins::add))
        .route("/admin/admins/{id}/active", post(admins::set_active))
        .route(
            "/admin/doctors",
            get(doctors::doctors).post(doctors::create),
        )
        .route("/admin/doctors/new", get(doctors::new_doctor))
        .route(
            "/admin/doctors/{id}",
            get(doctors::edit_page).post(doctors::update),
        )
        .route("/admin/doctors/{id}/active", post(doctors::set_active))
        .route(
            "/admin/doctors/{id}/hours",
            get(doctors::hours).post(doctors::save_hours),
        )
        .route("/admin/doctors/{id}/time-off", post(doctors::add_time_off))
        .route(
            "/admin/doctors/{id}/overrides",
            post(doctors::save_override),
        )
        .route(
            "/admin/doctors/{id}/overrides/delete",
            post(doctors::remove_override),
        )
        .route(
            "/admin/doctors/{id}/time-off/{tid}/delete",
            post(doctors::remove_time_off),
        )
        .route("/admin/appointments", get(appointments::appointments))
        .route(
            "/admin/webhooks",
            get(webhooks::webhooks_page).post(webhooks::create),
        )
        .route(
            "/admin/webhooks/{id}/rotate",
            get(webhooks::back_to_page).post(webhooks::rotate),
        )
        .route("/admin/webhooks/{id}/test", post(webhooks::send_test))
        .route("/admin/webhooks/{id}/active", post(webhooks::set_active))
        .route("/admin/webhooks/{id}/delete", post(webhooks::delete))
}

/// The admin who posted `form`; anyone else gets the 404 page.
fn admin_form<T>(form: &UserForm<T>) -> Result<&CurrentUser, PageError> {
    if form.user.role() == Some(Role::Admin) {
        Ok(&form.user)
    } else {
        Err(PageError::not_found())
    }
}
