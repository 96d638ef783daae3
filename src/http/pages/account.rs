//! The account page (`/account`, every role): change the password, see the
//! account's live sessions and end one or all others (decision 0017). The
//! same use cases as `POST /api/v1/me/password` and `/api/v1/sessions`.

use super::errors::{FormErrors, PageResult, form_status, status_of};
use super::flash::Flash;
use super::fmt;
use super::forms::UserForm;
use super::layout::Layout;
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::domain::caller::Role;
use crate::http::AppState;
use crate::http::extract::CurrentUser;
use crate::usecases::{Error, sessions, totp};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-others", post(end_others))
        .route(TOTP_SETUP_PATH, get(totp_page))
        .route("/account/totp/start", post(totp_start))
        .route("/account/totp/confirm", post(totp_confirm))
        .route("/account/totp/disable", post(totp_disable))
}

/// Where a staff member turns on two-step login (and where the clinic
/// sends one who must).
pub const TOTP_SETUP_PATH: &str = "/account/totp";

/// One session as the page lists it.
pub struct SessionLine {
    pub id: String,
    pub device: String,
    pub address: String,
    pub created: String,
    pub last_used: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    csrf: String,
    login: String,
    sessions: Vec<SessionLine>,
    /// Staff only: where their two-step login stands.
    totp: Option<totp::Status>,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    errors: FormErrors,
) -> Result<AccountPage, Error> {
    let today = fmt::zoned(state.clinic.now(), &viewer.tz).date();
    let when = |t| fmt::when(&fmt::zoned(t, &viewer.tz), today);
    let sessions = sessions::list(&state.clinic, &user.session)
        .await?
        .into_iter()
        .map(|s| SessionLine {
            id: s.id,
            device: s.device.unwrap_or_else(|| "Unknown device".into()),
            address: s.address.unwrap_or_default(),
            created: when(s.created),
            last_used: s.last_used.map(when).unwrap_or_default(),
            current: s.current,
        })
        .collect();
    let totp = match user.role() {
        Some(Role::Doctor | Role::Admin) => Some(totp::status(&state.clinic, &user.session).await?),
        _ => None,
    };
    Ok(AccountPage {
        layout: viewer.layout("Account", "account"),
        csrf: user.csrf_token().to_owned(),
        login: user.login.clone(),
        sessions,
        totp,
        errors,
    })
}

async fn account(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.signed_in()?;
    Ok(render(
        &page(&state, &viewer, user, FormErrors::default()).await?,
    ))
}

#[derive(Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<PasswordForm>,
) -> PageResult {
    let user = &form.user;
    let f = &form.data;
    let label = |field: &str| match field {
        "current_password" => Some("Current password"),
        "new_password" => Some("New password"),
        "new_password_again" => Some("New password again"),
        _ => None,
    };
    let result = if f.new_password != f.new_password_again {
        Err(Error::invalid(
            "new_password_again",
            "must be the same as the new password",
        ))
    } else {
        sessions::change_password(
            &state.clinic,
            &user.session,
            &f.current_password,
            &f.new_password,
        )
        .await
    };
    match result {
        Ok(()) => Ok(viewer.redirect("/account", Some(Flash::PasswordChanged))),
        Err(e) if super::errors::status_of(&e).is_client_error() => {
            let errors = FormErrors::from_error(&e, label);
            let p = page(&state, &viewer, user, errors).await?;
            Ok(render_status(form_status(&e), &p))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Default, Deserialize)]
struct Empty {}

async fn end_session(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: UserForm<Empty>,
) -> PageResult {
    let current = sessions::list(&state.clinic, &form.user.session)
        .await?
        .into_iter()
        .any(|s| s.current && s.id == id);
    sessions::end(&state.clinic, &form.user.session, &id).await?;
    if current {
        return Ok(viewer.redirect("/login", Some(Flash::LoggedOut)));
    }
    Ok(viewer.redirect("/account", Some(Flash::SessionEnded)))
}

async fn end_others(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<Empty>,
) -> PageResult {
    sessions::end_others(&state.clinic, &form.user.session).await?;
    Ok(viewer.redirect("/account", Some(Flash::OtherSessionsEnded)))
}

// ---------------------------------------------------------------------------
// Two-step login (decision 0019)

#[derive(Template)]
#[template(path = "account_totp.html")]
struct TotpPage {
    layout: Layout,
    csrf: String,
    /// The clinic requires it and this account has not turned it on.
    required: bool,
    /// A key waiting for its first code, with its QR code.
    setup: Option<TotpSetupView>,
    errors: FormErrors,
}

/// The key of a setup as the page shows it.
struct TotpSetupView {
    /// The base32 key, in groups of four for typing.
    key: String,
    /// The QR code, an SVG image as a `data:` URL (drawn here, on the server).
    qr: String,
}

#[derive(Template)]
#[template(path = "account_recovery.html")]
struct RecoveryPage {
    layout: Layout,
    codes: Vec<String>,
    next: &'static str,
}

/// The `otpauth://` URI as a QR code: an SVG in a `data:` URL (the pages'
/// CSP allows `data:` images, not inline markup).
fn qr_data_url(uri: &str) -> Result<String, Error> {
    use base64::Engine;
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| Error::internal(&e))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(image)
    ))
}

fn grouped(key: &str) -> String {
    key.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn totp_view(
    state: &AppState,
    viewer: &Viewer,
    user: &CurrentUser,
    errors: FormErrors,
) -> Result<TotpPage, Error> {
    let setup = match totp::pending(&state.clinic, &user.session).await? {
        Some(e) => Some(TotpSetupView {
            key: grouped(&e.secret),
            qr: qr_data_url(&e.otpauth_uri)?,
        }),
        None => None,
    };
    Ok(TotpPage {
        layout: viewer.layout("Two-step login", "account"),
        csrf: user.csrf_token().to_owned(),
        required: user.session.must_set_up_totp,
        setup,
        errors,
    })
}

async fn totp_page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let user = viewer.signed_in_for_setup()?;
    if totp::status(&state.clinic, &user.session).await?.enabled {
        return Ok(viewer.redirect("/account", None));
    }
    Ok(render(
        &totp_view(&state, &viewer, user, FormErrors::default()).await?,
    ))
}

async fn totp_start(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<Empty>,
) -> PageResult {
    totp::begin(&state.clinic, &form.user.session).await?;
    Ok(viewer.redirect(TOTP_SETUP_PATH, None))
}

#[derive(Default, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn totp_confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<CodeForm>,
) -> PageResult {
    let user = &form.user;
    match totp::confirm(&state.clinic, &user.session, &form.data.code).await {
        Ok(codes) => {
            let page = RecoveryPage {
                layout: viewer.layout("Your recovery codes", "account"),
                codes,
                next: user.role().map_or("/", super::public::home_of),
            };
            Ok(render(&page))
        }
        Err(e) if status_of(&e).is_client_error() => {
            let errors = FormErrors::from_error(&e, |f| (f == "code").then_some("Code"));
            let p = totp_view(&state, &viewer, user, errors).await?;
            Ok(render_status(form_status(&e), &p))
        }
        Err(e) => Err(e.into()),
    }
}

async fn totp_disable(
    State(state): State<AppState>,
    viewer: Viewer,
    form: UserForm<CodeForm>,
) -> PageResult {
    let user = &form.user;
    let f = &form.data;
    let label = |field: &str| match field {
        "code" => Some("Code"),
        "password" => Some("Password"),
        _ => None,
    };
    match totp::disable(
        &state.clinic,
        &user.session,
        Some(f.code.as_str()),
        Some(f.password.as_str()),
    )
    .await
    {
        Ok(()) => Ok(viewer.redirect("/account", Some(Flash::TotpOff))),
        Err(e) if status_of(&e).is_client_error() => {
            let errors = FormErrors::from_error(&e, label);
            let p = page(&state, &viewer, user, errors).await?;
            Ok(render_status(form_status(&e), &p))
        }
        Err(e) => Err(e.into()),
    }
}
