//! SMS: a notification as one short text with its link, posted to the
//! clinic's SMS provider as its API wants it (decision 0014): a URL, one
//! auth header, and a body template that is JSON when it starts with `{` and
//! a form otherwise. The delivery's stable id goes along as
//! `Idempotency-Key` (and as `{id}` for providers that take it in the body).

use super::{Http, SendError, email};
use crate::config::Secret;
use crate::usecases::notifications::{CodeMessage, Outgoing};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};

/// Sends the clinic's text messages.
#[derive(Clone)]
pub struct Texter {
    http: Http,
    url: String,
    /// `(name, value)`; the value is a secret.
    auth: Option<(HeaderName, Secret)>,
    template: Template,
    public_url: String,
}

impl std::fmt::Debug for Texter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texter")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The provider's body, with its placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    body: String,
    json: bool,
}

impl Template {
    pub fn new(body: &str) -> Self {
        Self {
            json: body.trim_start().starts_with('{'),
            body: body.to_owned(),
        }
    }

    pub fn content_type(&self) -> &'static str {
        if self.json {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        }
    }

    /// The body with `{to}`, `{text}` and `{id}` filled in, each value
    /// escaped for the body's kind (a JSON string's inside, or a form
    /// value), so that no text can change the body's shape.
    pub fn fill(&self, to: &str, text: &str, id: &str) -> String {
        let escape = |v: &str| -> String {
            if self.json {
                let quoted = serde_json::Value::String(v.to_owned()).to_string();
                quoted[1..quoted.len() - 1].to_owned()
            } else {
                form_urlencoded::byte_serialize(v.as_bytes()).collect()
            }
        };
        let mut out = String::with_capacity(self.body.len() + text.len());
        let mut rest = self.body.as_str();
        while let Some(at) = rest.find('{') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            let (value, len) = if tail.starts_with("{to}") {
                (Some(escape(to)), 4)
            } else if tail.starts_with("{text}") {
                (Some(escape(text)), 6)
            } else if tail.starts_with("{id}") {
                (Some(escape(id)), 4)
            } else {
                (None, 1)
            };
            match value {
                Some(v) => out.push_str(&v),
                None => out.push('{'),
            }
            rest = &tail[len..];
        }
        out.push_str(rest);
        out
    }
}

impl Texter {
    /// A texter for the provider at `url`; `auth` is `Name: value`.
    pub fn new(
        url: &str,
        auth: Option<&Secret>,
        body: &str,
        public_url: &str,
    ) -> Result<Self, String> {
        let auth = match auth {
            None => None,
            Some(line) => {
                let (name, value) = line
                    .expose()
                    .split_once(':')
                    .ok_or("--sms-auth-header must be `Name: value`")?;
                let name = HeaderName::from_bytes(name.trim().as_bytes())
                    .map_err(|_| "--sms-auth-header: not a header name before the `:`")?;
                let value = value.trim();
                if value.is_empty() || HeaderValue::from_str(value).is_err() {
                    return Err("--sms-auth-header: no valid header value after the `:`".into());
                }
                Some((name, Secret::new(value)))
            }
        };
        Ok(Self {
            http: Http::new()?,
            url: url.to_owned(),
            auth,
            template: Template::new(body),
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends one notification.
    pub async fn send(&self, o: &Outgoing) -> Result<(), SendError> {
        self.post(&o.address, &text(o, &self.public_url), &o.message_id)
            .await
    }

    /// Sends a one-time code.
    pub async fn send_code(&self, c: &CodeMessage) -> Result<(), SendError> {
        let (_, text) = super::code::wording(c.purpose, c.code.as_deref(), c.minutes);
        self.post(&c.address, &text, &c.message_id).await
    }

    async fn post(&self, to: &str, text: &str, message_id: &str) -> Result<(), SendError> {
        let body = self.template.fill(to, text, message_id);
        let mut headers = vec![
            (
                CONTENT_TYPE,
                HeaderValue::from_static(self.template.content_type()),
            ),
            (
                HeaderName::from_static("idempotency-key"),
                HeaderValue::from_str(message_id)
                    .map_err(|_| SendError::permanent("the message id is not a header value"))?,
            ),
        ];
        if let Some((name, value)) = &self.auth {
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| SendError::permanent("the SMS auth header is not a header value"))?;
            value.set_sensitive(true);
            headers.push((name.clone(), value));
        }
        self.http.post(&self.url, headers, body).await
    }
}

/// The text of a notification's SMS: what happened and the link.
pub fn text(o: &Outgoing, public_url: &str) -> String {
    let w = email::wording(o, public_url);
    format!("{}. {}", w.subject, w.link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_templates_escape_values_inside_strings() {
        let t = Template::new(r#"{"to":"{to}","text":"{text}","ref":"{id}","x":{"y":1}}"#);
        assert_eq!(t.content_type(), "application/json");
        let body = t.fill(
            "+4915112345678",
            "Line \"one\"\nand {to}",
            "n1.sms.2@medimeet",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["to"], "+4915112345678");
        assert_eq!(v["text"], "Line \"one\"\nand {to}");
        assert_eq!(v["ref"], "n1.sms.2@medimeet");
        assert_eq!(v["x"]["y"], 1, "other braces stay as written");
    }

    #[test]
    fn form_templates_percent_encode_values() {
        let t = Template::new("To={to}&From=%2B15550100&Body={text}");
        assert_eq!(t.content_type(), "application/x-www-form-urlencoded");
        let body = t.fill("+15551234567", "a&b=c d", "id");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("To".into(), "+15551234567".into()),
                ("From".into(), "+15550100".into()),
                ("Body".into(), "a&b=c d".into()),
            ]
        );
    }
}
