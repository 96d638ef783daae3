//! The pages anyone can open: the landing page, logging in, signing up, and
//! logging out.

use super::errors::{FormErrors, PageResult, form_status, status_of};
use super::flash::Flash;
use super::forms::{AnonForm, UserForm};
use super::layout::Layout;
use super::redirect::{safe_local_path, see_other};
use super::render::{render, render_status};
use super::viewer::Viewer;
use crate::demo;
use crate::domain::caller::Role;
use crate::domain::limits::Action;
use crate::http::AppState;
use crate::http::extract::{ClientAddr, CookieNames, session_cookie, session_token_in};
use crate::http::pages::forms::PageQuery;
use crate::usecases::patients::Registration;
use crate::usecases::sessions::{self, Credentials, Login, LoginStep, NewSession};
use crate::usecases::signup::{self, Confirmation, SignedUp};
use crate::usecases::{Caller, Conflict, Error, admin, limits};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/login", get(login_page).post(login))
        .route("/login/totp", post(login_totp))
        .route("/signup", get(signup_page).post(signup))
        .route("/signup/code", get(signup_code_page).post(signup_code))
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
            if admin::demo_login_offered(&state.clinic, c.login).await? {
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
            .and_then(|u| u.role())
            .map(home_of)
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

async fn login_page(viewer: Viewer, PageQuery(q): PageQuery<LoginQuery>) -> PageResult {
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
fn logged_in(state: &AppState, session: &NewSession, location: &str, flash: Flash) -> Response {
    let settings = state.clinic.settings();
    let mut res = see_other(location, Some(flash), settings.secure_cookies);
    let cookie = session_cookie(
        &session.token,
        settings.session_hours * 3600,
        settings.secure_cookies,
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
    headers: HeaderMap,
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
    let creds = Credentials {
        login: if who.contains('@') {
            Login::Email(who.clone())
        } else {
            Login::Phone(who.clone())
        },
        password: form.password,
        client: client.0,
        device: client.1,
        second_factor: None,
        replaces: session_token_in(&headers, names_of(&state)).map(|(t, _)| t),
    };
    match sessions::begin_login(&state.clinic, creds).await {
        Ok(LoginStep::Done(session)) => Ok(complete(&state, &session, &next)),
        Ok(LoginStep::SecondFactor { pending }) => Ok(render(&SecondStepPage {
            layout: viewer.layout("Two-step login", "login"),
            csrf: viewer.anon_csrf.clone(),
            pending,
            next: next.clone(),
            errors: FormErrors::default(),
        })),
        Err(e @ Error::BadCredentials) => Ok(render_status(
            form_status(&e),
            &page(FormErrors::alert(
                "That phone number or email and password do not match an account. \
                 Check them and try again.",
            )),
        )),
        Err(e) if status_of(&e).is_client_error() => Ok(render_status(
            form_status(&e),
            &page(FormErrors::alert(e.detail())),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Where a complete login goes: the page asked for, or the role's home
/// (or, first, setting up the second factor the clinic requires).
fn complete(state: &AppState, session: &NewSession, next: &str) -> Response {
    let to = if session.must_set_up_totp {
        super::account::TOTP_SETUP_PATH
    } else if next.is_empty() {
        home_of(session.role)
    } else {
        next
    };
    logged_in(state, session, to, Flash::LoggedIn)
}

/// The second step of a login: the code, after a right password (decision
/// 0019). The password is not asked again: the signed, short-lived
/// `pending` token says whose login this is.
#[derive(Template)]
#[template(path = "login_totp.html")]
struct SecondStepPage {
    layout: Layout,
    csrf: String,
    pending: String,
    next: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct SecondStepForm {
    #[serde(default)]
    pending: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

async fn login_totp(
    State(state): State<AppState>,
    viewer: Viewer,
    client: ClientAddr,
    headers: HeaderMap,
    AnonForm(form): AnonForm<SecondStepForm>,
) -> PageResult {
    let next = safe_local_path(&form.next).unwrap_or("").to_owned();
    let again = |errors: FormErrors| SecondStepPage {
        layout: viewer.layout("Two-step login", "login"),
        csrf: viewer.anon_csrf.clone(),
        pending: form.pending.clone(),
        next: next.clone(),
        errors,
    };
    if form.code.trim().is_empty() {
        let mut errors = FormErrors::default();
        errors.add("code", "Enter the code from your authenticator app");
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &again(errors),
        ));
    }
    match sessions::finish_login(
        &state.clinic,
        &form.pending,
        &form.code,
        &client.0,
        client.1.as_deref(),
        session_token_in(&headers, names_of(&state))
            .map(|(t, _)| t)
            .as_deref(),
    )
    .await
    {
        Ok(session) => Ok(complete(&state, &session, &next)),
        // The second step ran out (or was not ours): from the password again.
        Err(Error::Unauthenticated) => Ok(viewer.redirect("/login?expired=1", None)),
        Err(e @ Error::BadSecondFactor) => {
            let mut errors = FormErrors::default();
            errors.add(
                "code",
                "That code is wrong or was already used. Enter the code the app shows now.",
            );
            Ok(render_status(form_status(&e), &again(errors)))
        }
        Err(e) if status_of(&e).is_client_error() => Ok(render_status(
            form_status(&e),
            &again(FormErrors::alert(e.detail())),
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
    let req = Registration {
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        phone: form.phone.clone(),
        password: form.password.clone(),
        date_of_birth: form.date_of_birth.clone(),
        email: Some(form.email.clone()),
    };
    let registered =
        match limits::admit(&state.clinic, Action::SignUp, &Caller::Anonymous, &client.0) {
            Ok(()) => signup::sign_up(&state.clinic, &req, &client.0).await,
            Err(e) => Err(e),
        };
    match registered {
        // The same page for a new and an existing number (decision 0027).
        Ok(SignedUp::CodeSent(_)) => Ok(render(&SignupCodePage {
            layout: viewer.layout("Enter the code we sent", "signup"),
            csrf: viewer.anon_csrf.clone(),
            phone: form.phone.trim().to_owned(),
            sent: true,
            errors: FormErrors::default(),
        })),
        Ok(SignedUp::Registered(patient)) => {
            let creds = Credentials {
                login: Login::Phone(patient.phone),
                password: std::mem::take(&mut form.password),
                client: client.0,
                device: client.1,
                second_factor: None,
                replaces: None,
            };
            let session = sessions::log_in(&state.clinic, creds).await?;
            Ok(logged_in(&state, &session, "/doctors", Flash::Welcome))
        }
        Err(e) if status_of(&e).is_client_error() => {
            let mut errors = FormErrors::from_error(&e, signup_label);
            if e == Error::Conflict(Conflict::AlreadyRegistered) {
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
// Sign up: the code sent by text message (decision 0027)

#[derive(Template)]
#[template(path = "signup_code.html")]
struct SignupCodePage {
    layout: Layout,
    csrf: String,
    /// As typed at sign-up; travels in the form, never in a URL.
    phone: String,
    /// Whether a code was just asked for (the page says where it went).
    sent: bool,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct SignupCodeForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
}

fn signup_code_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "phone" => "Phone number",
        "code" => "Code",
        _ => return None,
    })
}

async fn signup_code_page(viewer: Viewer) -> PageResult {
    Ok(render(&SignupCodePage {
        layout: viewer.layout("Enter the code we sent", "signup"),
        csrf: viewer.anon_csrf.clone(),
        phone: String::new(),
        sent: false,
        errors: FormErrors::default(),
    }))
}

async fn signup_code(
    State(state): State<AppState>,
    viewer: Viewer,
    client: ClientAddr,
    AnonForm(form): AnonForm<SignupCodeForm>,
) -> PageResult {
    let phone = form.phone.trim().to_owned();
    let confirmed = signup::confirm(
        &state.clinic,
        Confirmation {
            phone: phone.clone(),
            code: form.code,
            client: client.0,
            device: client.1,
        },
    )
    .await;
    match confirmed {
        Ok((_, session)) => Ok(logged_in(&state, &session, "/doctors", Flash::Welcome)),
        Err(e) if status_of(&e).is_client_error() => {
            let mut errors = FormErrors::from_error(&e, signup_code_label);
            if e == Error::Conflict(Conflict::AlreadyRegistered) {
                errors = FormErrors::default();
                errors.add(
                    "phone",
                    "This phone number already has an account. Log in instead.",
                );
            }
            Ok(render_status(
                form_status(&e),
                &SignupCodePage {
                    layout: viewer.layout("Enter the code we sent", "signup"),
                    csrf: viewer.anon_csrf.clone(),
                    phone,
                    sent: false,
                    errors,
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------
// Log out

#[derive(Deserialize)]
struct Empty {}

async fn logout(State(state): State<AppState>, form: UserForm<Empty>) -> PageResult {
    sessions::log_out(&state.clinic, &form.user.session).await?;
    let secure = state.clinic.settings().secure_cookies;
    let mut res = see_other("/", Some(Flash::LoggedOut), secure);
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, secure)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// The names of our cookies under this clinic's settings.
fn names_of(state: &AppState) -> CookieNames {
    CookieNames {
        secure: state.clinic.settings().secure_cookies,
    }
}
