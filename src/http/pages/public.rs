//! The pages anyone can open: the landing page, logging in, signing up, and
//! logging out.

use super::{
    AnonForm, FormErrors, Layout, PageResult, UserForm, Viewer, form_status, render, render_status,
    safe_local_path,
};
use crate::demo;
use crate::http::AppState;
use crate::http::api::patients::{RegisterPatient, register_patient};
use crate::http::api::sessions::{
    LoginRequest, NewSession, end_session, session_cookie, start_session,
};
use crate::http::extract::{ClientAddr, Role};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/login", get(login_page).post(login))
        .route("/signup", get(signup_page).post(signup))
        .route("/logout", post(logout))
}

/// A demo login offered on the landing page (public demo values).
pub struct DemoLogin {
    pub label: &'static str,
    pub who: &'static str,
    pub login: &'static str,
    pub password: &'static str,
    pub next: &'static str,
}

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    layout: Layout,
    csrf: String,
    demo: Vec<DemoLogin>,
    home: &'static str,
    signed_in: bool,
}

/// Where each role starts.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Patient => "/appointments",
        Role::Doctor => "/doctor/week",
        Role::Admin => "/admin",
    }
}

fn home_of_name(role: &str) -> &'static str {
    match role {
        "doctor" => home_of(Role::Doctor),
        "admin" => home_of(Role::Admin),
        _ => home_of(Role::Patient),
    }
}

async fn landing(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    // The demo clinic's logins are offered only where the demo data is loaded.
    let mut demo_logins = Vec::new();
    let candidates = [
        DemoLogin {
            label: "Continue as demo patient",
            who: "Pat Demo, a patient: find a doctor and book a visit",
            login: demo::PATIENT_PHONE,
            password: demo::PATIENT_PASSWORD,
            next: "/doctors",
        },
        DemoLogin {
            label: "Continue as demo doctor",
            who: "Dr. Amara Okafor, cardiologist: your week and working hours",
            login: demo::FIRST_DOCTOR_EMAIL,
            password: demo::DOCTOR_PASSWORD,
            next: "/doctor/week",
        },
        DemoLogin {
            label: "Continue as demo admin",
            who: "The clinic manager: doctors, appointments and the dashboard",
            login: demo::ADMIN_EMAIL,
            password: demo::ADMIN_PASSWORD,
            next: "/admin",
        },
    ];
    if viewer.user.is_none() {
        for c in candidates {
            if state
                .store
                .find_account_by_login(c.login)
                .await?
                .is_some_and(|a| a.active)
            {
                demo_logins.push(c);
            }
        }
    }
    let page = LandingPage {
        layout: viewer.layout("Telehealth appointments", "home"),
        csrf: viewer.anon_csrf.clone(),
        demo: demo_logins,
        home: viewer
            .user
            .as_ref()
            .map(|u| home_of(u.role))
            .unwrap_or("/doctors"),
        signed_in: viewer.user.is_some(),
    };
    Ok(render(&page))
}

// ---------------------------------------------------------------------------
// Log in

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    login: String,
    next: String,
    notice: Option<&'static str>,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

async fn login_page(viewer: Viewer, Query(q): Query<LoginQuery>) -> PageResult {
    let next = q
        .next
        .as_deref()
        .and_then(safe_local_path)
        .unwrap_or("")
        .to_owned();
    let notice = if q.expired.is_some() {
        Some("Your session has expired. Please log in again to continue.")
    } else if !next.is_empty() {
        Some("Please log in to continue.")
    } else {
        None
    };
    let page = LoginPage {
        layout: viewer.layout("Log in", "login"),
        csrf: viewer.anon_csrf.clone(),
        login: String::new(),
        next,
        notice,
        errors: FormErrors::default(),
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// The response that completes a login: the session cookie and a redirect.
fn logged_in(
    state: &AppState,
    session: &NewSession,
    location: &str,
    flash: super::Flash,
) -> Response {
    let mut res = super::see_other(location, Some(flash), state.settings.secure_cookies);
    let cookie = session_cookie(
        &session.token,
        state.settings.session_hours * 3600,
        state.settings.secure_cookies,
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login(
    State(state): State<AppState>,
    viewer: Viewer,
    client: ClientAddr,
    AnonForm(form): AnonForm<LoginForm>,
) -> PageResult {
    let who = form.login.trim().to_owned();
    let mut errors = FormErrors::default();
    if who.is_empty() {
        errors.add("login", "Enter your phone number or email address");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    let next = safe_local_path(&form.next).unwrap_or("").to_owned();
    let page = |errors: FormErrors| LoginPage {
        layout: viewer.layout("Log in", "login"),
        csrf: viewer.anon_csrf.clone(),
        login: who.clone(),
        next: next.clone(),
        notice: None,
        errors,
    };
    if !errors.is_empty() {
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(errors),
        ));
    }
    let req = if who.contains('@') {
        LoginRequest {
            phone: None,
            email: Some(who.clone()),
            password: form.password,
        }
    } else {
        LoginRequest {
            phone: Some(who.clone()),
            email: None,
            password: form.password,
        }
    };
    match start_session(&state, &client, req).await {
        Ok(session) => {
            let to = if next.is_empty() {
                home_of_name(&session.role)
            } else {
                next.as_str()
            };
            Ok(logged_in(&state, &session, to, super::Flash::LoggedIn))
        }
        Err(e) if e.code == "invalid_credentials" => Ok(render_status(
            e.status,
            &page(FormErrors::alert(
                "That phone number or email and password do not match an account. \
                 Check them and try again.",
            )),
        )),
        Err(e) if e.status.is_client_error() => Ok(render_status(
            e.status,
            &page(FormErrors::alert(e.detail.clone())),
        )),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------
// Sign up

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    layout: Layout,
    csrf: String,
    form: SignupForm,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
struct SignupForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn signup_page(viewer: Viewer) -> PageResult {
    let page = SignupPage {
        layout: viewer.layout("Create your account", "signup"),
        csrf: viewer.anon_csrf.clone(),
        form: SignupForm::default(),
        errors: FormErrors::default(),
    };
    Ok(render(&page))
}

fn signup_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "first_name" => "First name",
        "last_name" => "Last name",
        "phone" => "Phone number",
        "date_of_birth" => "Date of birth",
        "email" => "Email",
        "password" => "Password",
        _ => return None,
    })
}

async fn signup(
    State(state): State<AppState>,
    viewer: Viewer,
    client: ClientAddr,
    AnonForm(mut form): AnonForm<SignupForm>,
) -> PageResult {
    let req = RegisterPatient {
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        phone: form.phone.clone(),
        password: form.password.clone(),
        date_of_birth: form.date_of_birth.clone(),
        email: Some(form.email.clone()),
    };
    match register_patient(&state, &req).await {
        Ok(patient) => {
            let session = start_session(
                &state,
                &client,
                LoginRequest {
                    phone: Some(patient.phone),
                    email: None,
                    password: std::mem::take(&mut form.password),
                },
            )
            .await?;
            Ok(logged_in(
                &state,
                &session,
                "/doctors",
                super::Flash::Welcome,
            ))
        }
        Err(e) if e.status.is_client_error() => {
            let mut errors = FormErrors::from_api(&e, signup_label);
            if e.code == "already_registered" {
                errors = FormErrors::default();
                errors.add(
                    "phone",
                    "This phone number already has an account. Log in instead, or use another number.",
                );
            }
            form.password.clear();
            let page = SignupPage {
                layout: viewer.layout("Create your account", "signup"),
                csrf: viewer.anon_csrf.clone(),
                form,
                errors,
            };
            Ok(render_status(form_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------
// Log out

#[derive(Deserialize)]
struct Empty {}

async fn logout(State(state): State<AppState>, form: UserForm<Empty>) -> PageResult {
    end_session(&state, &form.user).await?;
    let mut res = super::see_other(
        "/",
        Some(super::Flash::LoggedOut),
        state.settings.secure_cookies,
    );
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, state.settings.secure_cookies)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
