//! Reading a posted form, its CSRF token checked before a handler runs:
//! [`UserForm`] for signed-in users, [`AnonForm`] for the anonymous forms.

use super::cookie;
use super::errors::PageError;
use super::redirect::safe_local_path;
use crate::auth;
use crate::domain::text;
use crate::http::AppState;
use crate::http::extract::{CookieNames, CurrentUser, session_of};
use crate::usecases::Error as UseCaseError;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, header};
use serde::de::DeserializeOwned;

/// What a page says of a form or address holding a control character.
const CONTROL_IN_FORM: &str = "The form held a control character (such as NUL), which no field accepts. Go back, remove it and try again.";
const CONTROL_IN_QUERY: &str =
    "The address held a control character (such as NUL), which no search accepts.";

/// Reads a urlencoded form body into `T` (and the raw pairs, for the token),
/// refusing control characters in any field as every face does
/// ([`text::control_in`]).
async fn read_form<T: DeserializeOwned>(
    body: Body,
) -> Result<(T, Vec<(String, String)>), PageError> {
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| PageError::BadForm("Form too large."))?;
    let pairs = parse_form::<Vec<(String, String)>>(bytes.clone()).await?;
    if pairs
        .iter()
        .any(|(k, v)| text::control_in(k).is_some() || text::control_in(v).is_some())
    {
        return Err(PageError::BadForm(CONTROL_IN_FORM));
    }
    let data = parse_form::<T>(bytes).await?;
    Ok((data, pairs))
}

async fn parse_form<T: DeserializeOwned>(bytes: axum::body::Bytes) -> Result<T, PageError> {
    let req = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(bytes))
        .map_err(|e| PageError::Failed(UseCaseError::internal(&e)))?;
    axum::Form::<T>::from_request(req, &())
        .await
        .map(|f| f.0)
        .map_err(|_| {
            PageError::BadForm(
                "The form could not be read. Go back, reload the page and try again.",
            )
        })
}

fn token_of(pairs: &[(String, String)]) -> &str {
    pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The path of a same-site `Referer`, to return to after logging in again.
fn referer_path(headers: &HeaderMap) -> String {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            let rest = r.split_once("://").map(|(_, rest)| rest)?;
            let host = headers.get(header::HOST)?.to_str().ok()?;
            rest.strip_prefix(host).map(str::to_owned)
        })
        .filter(|p| safe_local_path(p).is_some())
        .unwrap_or_default()
}

/// A form posted by a signed-in user, its CSRF token checked against the
/// session's. No session: to the login page ("your session expired").
pub struct UserForm<T> {
    pub user: CurrentUser,
    pub data: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for UserForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (parts, body) = req.into_parts();
        let Some(user) = session_of(&parts, state).await? else {
            return Err(PageError::Login {
                next: referer_path(&parts.headers),
                expired: cookie(&parts.headers, CookieNames::of(&parts.extensions).session())
                    .is_some(),
            });
        };
        let (data, pairs) = read_form::<T>(body).await?;
        if !auth::same_secret(token_of(&pairs), user.csrf_token()) {
            tracing::info!("page form refused: bad CSRF token");
            return Err(PageError::Csrf);
        }
        // Waiting for a second factor the clinic requires: only its setup
        // forms and logging out go through (decision 0019).
        let path = parts.uri.path();
        if user.session.must_set_up_totp
            && !path.starts_with(super::account::TOTP_SETUP_PATH)
            && path != "/logout"
        {
            return Err(PageError::TotpSetup);
        }
        Ok(UserForm { user, data })
    }
}

/// A form posted by someone who may not be signed in (log in, sign up), its
/// CSRF token checked against the double-submit cookie.
pub struct AnonForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AnonForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (parts, body) = req.into_parts();
        let names = CookieNames::of(&parts.extensions);
        let expected = cookie(&parts.headers, names.csrf()).unwrap_or_default();
        let (data, pairs) = read_form::<T>(body).await?;
        // The cookie must be one the clinic signed (a planted one is not),
        // and the form must carry the same.
        let signed = crate::usecases::forms::is_anonymous_token(&state.clinic, &expected)
            .await
            .unwrap_or(false);
        if !signed || !auth::same_secret(token_of(&pairs), &expected) {
            tracing::info!("anonymous form refused: bad CSRF token");
            return Err(PageError::Csrf);
        }
        Ok(AnonForm(data))
    }
}

/// A page's query string read into `T`, refusing control characters as
/// every face does ([`crate::http::extract::control_in_query`]): a friendly
/// 400 page, never a database error.
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S>
    for PageQuery<T>
{
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, PageError> {
        if crate::http::extract::control_in_query(&parts.uri).is_some() {
            return Err(PageError::BadForm(CONTROL_IN_QUERY));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| PageQuery(q.0))
            .map_err(|_| PageError::BadForm("The address could not be read."))
    }
}
