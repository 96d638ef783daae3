//! The one mapping of the use cases' error to what a page answers: its status
//! ([`status_of`]), an error page ([`PageError`]), or messages on the form that
//! is shown again ([`FormErrors::from_error`], [`form_status`]).

use super::CSP;
use super::fmt;
use super::layout::Layout;
use super::redirect::{safe_local_path, see_other};
use super::render::render;
use crate::usecases::{Error as UseCaseError, Thing};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a page could not be shown as asked.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): to the login page, then back.
    Login { next: String, expired: bool },
    /// A form whose CSRF token is missing or wrong.
    Csrf,
    /// A form that could not be read at all (too large, malformed).
    BadForm(&'static str),
    /// The clinic said no, or failed: shown as an error page.
    Failed(UseCaseError),
    /// The clinic requires a second factor this staff member has not
    /// turned on: to its setup page before anything else (decision 0019).
    TotpSetup,
}

impl From<UseCaseError> for PageError {
    fn from(e: UseCaseError) -> Self {
        match e {
            UseCaseError::Unauthenticated => PageError::Login {
                next: String::new(),
                expired: true,
            },
            e => PageError::Failed(e),
        }
    }
}

impl PageError {
    pub fn not_found() -> Self {
        PageError::Failed(UseCaseError::NotFound(Thing::Resource))
    }
}

/// The one mapping of the use cases' error to what a page answers: the HTTP
/// status of the page (or of a form shown again with its errors).
pub fn status_of(e: &UseCaseError) -> StatusCode {
    use StatusCode as S;
    match e {
        UseCaseError::Unauthenticated
        | UseCaseError::BadCredentials
        | UseCaseError::SecondFactorRequired
        | UseCaseError::BadSecondFactor => S::UNAUTHORIZED,
        UseCaseError::SecondFactorSetupRequired => S::FORBIDDEN,
        UseCaseError::TooManyAttempts { .. }
        | UseCaseError::TooManyMessages { .. }
        | UseCaseError::RateLimited { .. } => S::TOO_MANY_REQUESTS,
        UseCaseError::NotFound(_) => S::NOT_FOUND,
        UseCaseError::Forbidden(_) => S::FORBIDDEN,
        UseCaseError::Invalid(_) | UseCaseError::Refused(_) => S::UNPROCESSABLE_ENTITY,
        UseCaseError::Conflict(_) => S::CONFLICT,
        UseCaseError::Busy => S::SERVICE_UNAVAILABLE,
        UseCaseError::Internal => S::INTERNAL_SERVER_ERROR,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
    /// The request's id, for a person to quote when they report the error.
    request_id: Option<String>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login { next, expired } => {
                let mut url = String::from("/login");
                let mut sep = '?';
                if expired {
                    url.push_str("?expired=1");
                    sep = '&';
                }
                if let Some(n) = safe_local_path(&next).filter(|n| *n != "/") {
                    url.push(sep);
                    url.push_str("next=");
                    url.push_str(&fmt::url_encode(n));
                }
                see_other(&url, None, false)
            }
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your safety we could not accept that form: it was missing its security \
                 token or it has expired. Go back, reload the page and try again.",
            ),
            PageError::BadForm(why) => error_page(StatusCode::BAD_REQUEST, "Bad request", why),
            PageError::TotpSetup => see_other(super::account::TOTP_SETUP_PATH, None, false),
            PageError::Failed(e) => {
                let status = status_of(&e);
                let (heading, message) = match status {
                    StatusCode::NOT_FOUND => (
                        "Page not found".to_owned(),
                        "There is nothing here, or it is not yours to see. Check the address, \
                         or go back to your home page."
                            .to_owned(),
                    ),
                    s if s.is_server_error() => (
                        "Something went wrong".to_owned(),
                        "Something went wrong on our side. Please try again in a moment."
                            .to_owned(),
                    ),
                    _ => (e.title().to_owned(), e.detail()),
                };
                error_page(status, &heading, &message)
            }
        }
    }
}

fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let page = ErrorPage {
        layout: Layout::bare(heading),
        heading: heading.to_owned(),
        message: message.to_owned(),
        request_id: crate::http::request_id::current(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    res
}

/// The HTML 404 page for unknown addresses outside the API.
pub async fn not_found_page() -> Response {
    let mut res = PageError::not_found().into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub type PageResult = Result<Response, PageError>;

// ---------------------------------------------------------------------------
// Form errors

/// One field's message, as the error summary and the field show it.
#[derive(Debug, Clone)]
pub struct FieldMsg {
    pub field: String,
    pub message: String,
}

/// What went wrong with a form: a message for the whole form and/or per field.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub alert: Option<String>,
    pub fields: Vec<FieldMsg>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.alert.is_none() && self.fields.is_empty()
    }

    /// The message for a field, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.has(field) {
            self.fields.push(FieldMsg {
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }

    pub fn alert(message: impl Into<String>) -> Self {
        Self {
            alert: Some(message.into()),
            fields: Vec::new(),
        }
    }

    /// The clinic's error as form errors: each field error under its field,
    /// with the field's label in front ("First name is required"); any other
    /// error as the form's alert.
    pub fn from_error(e: &UseCaseError, label: impl Fn(&str) -> Option<&'static str>) -> Self {
        let mut out = FormErrors::default();
        if e.fields().is_empty() {
            out.alert = Some(e.detail());
        }
        for f in e.fields() {
            match label(&f.field) {
                Some(l) => out.add(&f.field, format!("{l} {}", f.message)),
                None => {
                    let msg = capitalize(&f.message);
                    match &mut out.alert {
                        Some(a) => {
                            a.push(' ');
                            a.push_str(&msg);
                        }
                        None => out.alert = Some(msg),
                    }
                }
            }
        }
        out
    }
}

/// `s` with its first letter upper-cased (messages shown as sentences).
pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The status a form with these errors is answered with.
pub fn form_status(e: &UseCaseError) -> StatusCode {
    let status = status_of(e);
    if status.is_client_error() {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_get_their_labels() {
        let e = UseCaseError::Invalid(vec![
            crate::domain::person::FieldError::new("first_name", "is required"),
            crate::domain::person::FieldError::new("weird", "is odd"),
        ]);
        let f = FormErrors::from_error(&e, |f| (f == "first_name").then_some("First name"));
        assert_eq!(f.get("first_name"), Some("First name is required"));
        assert_eq!(f.alert.as_deref(), Some("Is odd"));
    }
}
