//! The one-click unsubscribe link of the clinic's emails (RFC 8058): no
//! login, the signed token in the link is the authority. GET only asks (link
//! scanners and previews open links), POST turns the email off; mail clients
//! POST `List-Unsubscribe=One-Click` to the same address.

use super::errors::{PageError, PageResult};
use super::layout::Layout;
use super::render::render;
use crate::http::AppState;
use crate::http::pages::forms::PageQuery;
use crate::usecases::notifications;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/unsubscribe", get(ask).post(confirm))
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    t: String,
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    layout: Layout,
    token: String,
    done: bool,
}

async fn ask(PageQuery(link): PageQuery<Link>) -> PageResult {
    if link.t.trim().is_empty() {
        return Err(PageError::not_found());
    }
    Ok(render(&UnsubscribePage {
        layout: Layout::bare("Unsubscribe"),
        token: link.t,
        done: false,
    }))
}

async fn confirm(State(state): State<AppState>, PageQuery(link): PageQuery<Link>) -> PageResult {
    notifications::unsubscribe(&state.clinic, &link.t).await?;
    Ok(render(&UnsubscribePage {
        layout: Layout::bare("Unsubscribed"),
        token: String::new(),
        done: true,
    }))
}
