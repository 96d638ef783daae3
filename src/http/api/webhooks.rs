//! Webhook endpoints and the notification queue, for admins (decision 0014).

use super::{Page, instant_text};
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::usecases::webhooks::{self, Delivery, QueueReport, Webhook};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(send_test))
        .routes(routes!(list_deliveries))
        .routes(routes!(queue))
}

/// A webhook endpoint (its secret is shown only when made or rotated).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    /// Subscribed events: `appointment.booked`, `appointment.cancelled`,
    /// `appointment.rescheduled`, `appointment.status_changed`.
    pub events: Vec<String>,
    /// Off when its receiver answered 410 Gone or an admin turned it off.
    pub active: bool,
    pub disabled_reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Until when the previous secret still signs beside the current one
    /// (after a rotation); null otherwise.
    #[schema(format = DateTime)]
    pub previous_secret_until: Option<String>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            active: w.active,
            disabled_reason: w.disabled_reason,
            created_at: instant_text(w.created_at),
            previous_secret_until: w.previous_secret_until.map(instant_text),
        }
    }
}

/// An endpoint with its secret: shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookView,
    /// `whsec_...`: verify the `webhook-signature` header with it (Standard
    /// Webhooks). Not shown again.
    pub secret: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `https://...` (or `http://` on a trusted network).
    pub url: String,
    /// One or more of the event types.
    pub events: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub events: Option<Vec<String>>,
    /// `true` turns a disabled endpoint back on.
    pub active: Option<bool>,
}

/// A delivery of a notification or a webhook call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The stable id the receiver sees (`webhook-id`, `Message-ID`,
    /// `Idempotency-Key`).
    pub message_id: String,
    /// `email`, `sms` or `webhook`.
    pub channel: String,
    /// `notice`, `reminder` or `test`.
    pub kind: String,
    /// The event behind it: `booked`, `cancelled`, `rescheduled`,
    /// `status_changed`, `note_ready` (null for reminders' and tests').
    pub event: Option<String>,
    pub appointment_id: Option<i64>,
    pub webhook_id: Option<i64>,
    /// `pending`, `sent`, `dead`, `dropped` or `not_configured`.
    pub state: String,
    /// Tries so far (failed ones, and the one that went through).
    pub attempts: i64,
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub due_at: String,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            message_id: d.message_id,
            channel: d.channel,
            kind: d.kind,
            event: d.event,
            appointment_id: d.appointment_id,
            webhook_id: d.webhook_id,
            state: d.state,
            attempts: d.attempts,
            last_error: d.last_error,
            due_at: instant_text(d.due_at),
            sent_at: d.sent_at.map(instant_text),
            created_at: instant_text(d.created_at),
        }
    }
}

/// The notification queue now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    /// Deliveries waiting (due now or later).
    pub pending: i64,
    /// Deliveries waiting and due now.
    pub due: i64,
    /// How long the oldest due delivery has waited, in seconds.
    pub oldest_due_age_seconds: i64,
    /// Waiting after at least one failure.
    pub retrying: i64,
    pub sent: i64,
    pub dead: i64,
    pub dropped: i64,
    pub not_configured: i64,
    /// Changes not yet expanded into deliveries.
    pub unexpanded_events: i64,
    /// The latest dead deliveries, newest first, with their last error.
    pub recent_dead: Vec<DeliveryView>,
}

impl From<QueueReport> for QueueView {
    fn from(r: QueueReport) -> Self {
        let f = r.figures;
        Self {
            pending: f.pending,
            due: f.due,
            oldest_due_age_seconds: r.oldest_due_age_secs,
            retrying: f.retrying,
            sent: f.sent,
            dead: f.dead,
            dropped: f.dropped,
            not_configured: f.not_configured,
            unexpanded_events: f.unexpanded,
            recent_dead: r.dead.into_iter().map(DeliveryView::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// How many, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The test call that was queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestQueued {
    /// The `webhook-id` the test call carries.
    pub message_id: String,
}

const ADMIN_ONLY: &str = "Only admins manage webhooks (`forbidden`)";

/// Every webhook endpoint (admins).
#[utoipa::path(
    get, path = "/webhooks", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every endpoint, in one page", body = Page<WebhookView>),
        (status = 403, description = ADMIN_ONLY, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<Page<WebhookView>>> {
    let items = webhooks::list(&state.clinic, &user.caller).await?;
    Ok(Json(Page::all(items.into_iter().map(Into::into).collect())))
}

/// Add a webhook endpoint (admins). The answer holds its secret, shown
/// only this once.
#[utoipa::path(
    post, path = "/webhooks", tag = "admin",
    security(("bearer" = [])),
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Added; calls start with the next event", body = WebhookWithSecret),
        (status = 403, description = ADMIN_ONLY, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad URL or an unknown event (`validation`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    let (endpoint, secret) =
        webhooks::create(&state.clinic, &user.caller, &req.url, &req.events).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookWithSecret {
            endpoint: endpoint.into(),
            secret,
        }),
    ))
}

/// One webhook endpoint (admins).
#[utoipa::path(
    get, path = "/webhooks/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 403, description = ADMIN_ONLY, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(
        webhooks::get(&state.clinic, &user.caller, id).await?.into(),
    ))
}

/// Change an endpoint's events, or turn it on or off (admins).
#[utoipa::path(
    patch, path = "/webhooks/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "The endpoint as it is now", body = WebhookView),
        (status = 403, description = ADMIN_ONLY, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown event (`validation`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateWebhook>,
) -> ApiResult<Json<WebhookView>> {
    let w = webhooks::update(
        &state.clinic,
        &user.caller,
        id,
        req.events.as_deref(),
        req.active,
    )
    .await?;
    Ok(Json(w.into()))
}

/// Remove an endpoint and its delivery log (admins).
#[utoipa::path(
    delete, path = "/webhooks/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    responses(
        (status = 204, description = "Removed: nothing more is sent to it"),
        (status = 403, description = ADMIN_ONLY, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&state.clinic, &user.caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give an endpoint a new secret (admins). The previous one keeps signing
/// beside it for 24 hours, so the receiver can switch without a gap.
#[utoipa::path(
    post, path = "/webhooks/{id}/rotate", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    responses(
        (status = 200, description = "The new secret, shown only this once", body = WebhookWithSecret),
        (status = 403, description = ADMIN_ONLY, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<WebhookWithSecret>> {
    let (endpoint, secret) = webhooks::rotate(&state.clinic, &user.caller, id).await?;
    Ok(Json(WebhookWithSecret {
        endpoint: endpoint.into(),
        secret,
    }))
}

/// Send a `webhook.test` event to an endpoint (admins).
#[utoipa::path(
    post, path = "/webhooks/{id}/test", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    responses(
        (status = 202, description = "Queued: see its fate in the deliveries", body = TestQueued),
        (status = 403, description = ADMIN_ONLY, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_test(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(StatusCode, Json<TestQueued>)> {
    let message_id = webhooks::send_test(&state.clinic, &user.caller, id).await?;
    Ok((StatusCode::ACCEPTED, Json(TestQueued { message_id })))
}

/// An endpoint's latest deliveries, newest first, with their errors (admins).
#[utoipa::path(
    get, path = "/webhooks/{id}/deliveries", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id"), DeliveryQuery),
    responses(
        (status = 200, description = "The latest deliveries, in one page", body = Page<DeliveryView>),
        (status = 403, description = ADMIN_ONLY, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<Page<DeliveryView>>> {
    let items = webhooks::deliveries(&state.clinic, &user.caller, id, q.limit).await?;
    Ok(Json(Page::all(items.into_iter().map(Into::into).collect())))
}

/// The notification queue: what waits, what is late, what died (admins).
#[utoipa::path(
    get, path = "/notifications", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The queue now", body = QueueView),
        (status = 403, description = "Only admins see the queue (`forbidden`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn queue(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Json<QueueView>> {
    Ok(Json(
        webhooks::queue(&state.clinic, &user.caller).await?.into(),
    ))
}
