//! Webhooks: an event as a call to a clinic's system, signed with the
//! Standard Webhooks scheme (decision 0014) so the receiver can check it
//! with a library of its own: `webhook-id` (stable across tries),
//! `webhook-timestamp` (this try) and `webhook-signature` (`v1,<base64
//! HMAC-SHA256 of id.timestamp.body>`, one per secret during a rotation).

use super::{Http, SendError};
use crate::usecases::notifications::WebhookCall;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use jiff::Timestamp;

/// Calls the clinic's webhook endpoints.
#[derive(Debug, Clone)]
pub struct Caller {
    http: Http,
}

impl Caller {
    pub fn new() -> Result<Self, String> {
        Ok(Self { http: Http::new()? })
    }

    /// Sends one call, signed at `now`.
    pub async fn send(&self, call: &WebhookCall, now: Timestamp) -> Result<(), SendError> {
        let body = payload(call);
        let timestamp = now.as_second();
        let signature = signatures(call, timestamp, body.as_bytes())?;
        let value = |v: &str| {
            HeaderValue::from_str(v).map_err(|_| SendError::permanent("not a header value"))
        };
        let headers = vec![
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (
                HeaderName::from_static("webhook-id"),
                value(&call.message_id)?,
            ),
            (
                HeaderName::from_static("webhook-timestamp"),
                value(&timestamp.to_string())?,
            ),
            (
                HeaderName::from_static("webhook-signature"),
                value(&signature)?,
            ),
        ];
        // A receiver's refusal may be a passing misconfiguration: every
        // answer but 410 Gone is tried again over the day (decision 0014).
        self.http
            .post(&call.url, headers, body)
            .await
            .map_err(|mut e| {
                e.permanent = e.permanent && e.status.is_none();
                e
            })
    }
}

/// The `webhook-signature` header: one `v1,...` per secret, space-separated.
fn signatures(call: &WebhookCall, timestamp: i64, body: &[u8]) -> Result<String, SendError> {
    let mut out = Vec::with_capacity(call.secrets.len());
    for secret in &call.secrets {
        out.push(
            crate::auth::webhook_signature(secret, &call.message_id, timestamp, body)
                .map_err(|_| SendError::permanent("the endpoint's secret is not a whsec_ key"))?,
        );
    }
    Ok(out.join(" "))
}

/// The JSON body: the event's type and time, and the visit in ids, times
/// and status only.
pub fn payload(call: &WebhookCall) -> String {
    let data = match &call.visit {
        Some(v) => serde_json::json!({
            "appointment_id": v.appointment_id,
            "doctor_id": v.doctor_id,
            "patient_id": v.patient_id,
            "start": v.start.to_string(),
            "end": v.end.to_string(),
            "status": v.status.as_str(),
        }),
        None => serde_json::json!({ "webhook_id": call.endpoint_id }),
    };
    serde_json::json!({
        "type": call.event_type,
        "timestamp": call.at.to_string(),
        "data": data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::appointment::Status;
    use crate::usecases::notifications::WebhookVisit;

    fn call(secrets: Vec<String>) -> WebhookCall {
        let t = |s| Timestamp::from_second(s).unwrap();
        WebhookCall {
            id: 1,
            attempts: 0,
            message_id: "msg_7_2".into(),
            endpoint_id: 2,
            url: "http://127.0.0.1:9/hook".into(),
            secrets,
            event_type: "appointment.cancelled".into(),
            at: t(1_800_000_000),
            visit: Some(WebhookVisit {
                appointment_id: 42,
                doctor_id: 3,
                patient_id: 9,
                start: t(1_800_003_600),
                end: t(1_800_005_400),
                status: Status::Cancelled,
            }),
        }
    }

    #[test]
    fn the_payload_is_thin() {
        let body = payload(&call(vec![]));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "appointment.cancelled");
        assert_eq!(v["timestamp"], "2027-01-15T08:00:00Z");
        assert_eq!(
            v["data"],
            serde_json::json!({
                "appointment_id": 42, "doctor_id": 3, "patient_id": 9,
                "start": "2027-01-15T09:00:00Z", "end": "2027-01-15T09:30:00Z",
                "status": "cancelled",
            })
        );
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let a = crate::auth::new_webhook_secret();
        let b = crate::auth::new_webhook_secret();
        let header = signatures(&call(vec![a.clone(), b.clone()]), 1_800_000_000, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0],
            crate::auth::webhook_signature(&a, "msg_7_2", 1_800_000_000, b"{}").unwrap()
        );
        assert_eq!(
            parts[1],
            crate::auth::webhook_signature(&b, "msg_7_2", 1_800_000_000, b"{}").unwrap()
        );
    }
}
