//! The OpenAPI document: its header, and what is added once the routes are in.
//!
//! - The error answers every operation can give, so generated clients know them:
//!   400 for a body or query that does not parse, 401 where a session is
//!   required, 413/415 where there is a body, 422 for validation, 503 when the
//!   database is overloaded. Handlers document only the answers specific to them.
//! - `Page_*` schemas refer to their item schema (utoipa inlines a generic
//!   field's schema; a client generator would then make a second, anonymous
//!   model of every item).
//!
//! The tests below hold the document to what generators and validators need:
//! every response described, times typed, request bodies closed.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "medimeet API",
        description = "Telehealth appointments: patients, doctors, free slots and bookings. \
            Errors are RFC 9457 problem documents with a stable `code`. Times are RFC 3339.",
        version = "1.0.0"
    ),
    modifiers(&SecurityAddon),
    tags(
        (name = "sessions", description = "Log in and out"),
        (name = "patients", description = "Patient registration and profiles"),
        (name = "doctors", description = "Doctors, their hours, time off and free slots"),
        (name = "appointments", description = "Booking, cancelling, rescheduling, visit status"),
        (name = "visits", description = "The video visit: its room, signaling socket, chat and note (docs/visit.md)"),
        (name = "admin", description = "Clinic administration"),
    )
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What is added to the document once every route is in it.
pub fn finish(openapi: &mut OpenApi) {
    add_common_errors(openapi);
    page_items_by_reference(openapi);
    optional_bodies_are_not_null(openapi);
}

/// utoipa writes an optional body (`Option<T>`) as `oneOf: [null, T]`, but a
/// body is either left out or a `T`: a JSON `null` is refused. The body's
/// `required: false` already says it may be left out.
fn optional_bodies_are_not_null(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let ops = [item.put.as_mut(), item.post.as_mut(), item.patch.as_mut()];
        for op in ops.into_iter().flatten() {
            let Some(RefOr::T(body)) = op.request_body.as_mut() else {
                continue;
            };
            if body.required == Some(utoipa::openapi::Required::True) {
                continue;
            }
            for content in body.content.values_mut() {
                let RefOr::T(content) = content else {
                    continue;
                };
                let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
                    continue;
                };
                let not_null: Vec<_> = one_of
                    .items
                    .iter()
                    .filter(|s| !is_null(s))
                    .cloned()
                    .collect();
                if let [only] = not_null.as_slice() {
                    content.schema = Some(only.clone());
                }
            }
        }
    }
}

fn is_null(s: &RefOr<Schema>) -> bool {
    let Ok(json) = serde_json::to_value(s) else {
        return false;
    };
    json.get("type").and_then(|t| t.as_str()) == Some("null")
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem")))),
            )
            .build(),
    )
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| problem(description));
}

fn add_common_errors(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let ops = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            add(
                op,
                "400",
                "The body or query string does not parse (`malformed_json`, `invalid_query`)",
            );
            add(
                op,
                "503",
                "Overloaded or the database is unreachable (`busy`); see Retry-After",
            );
            if op.security.is_some() {
                add(op, "401", "Not logged in (`unauthenticated`)");
                add(
                    op,
                    "404",
                    "No such record, or not yours to see (`not_found`)",
                );
            }
            if op.request_body.is_some() {
                add(op, "413", "Body over 64 KiB (`body_too_large`)");
                add(
                    op,
                    "415",
                    "Body is not application/json (`unsupported_media_type`)",
                );
            }
            if op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                add(
                    op,
                    "422",
                    "Invalid input (`validation_failed`, `invalid_body`)",
                );
            }
        }
    }
}

/// `Page_X.items` becomes an array of `$ref X` when `X` is a component.
fn page_items_by_reference(openapi: &mut OpenApi) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in components.schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        if !names.iter().any(|n| n == item) {
            continue;
        }
        let RefOr::T(Schema::Object(page)) = schema else {
            continue;
        };
        if let Some(items) = page.properties.get_mut("items") {
            *items = ArrayBuilder::new()
                .items(RefOr::Ref(Ref::from_schema_name(item)))
                .into();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        let (_, openapi) = crate::http::api();
        serde_json::to_value(&openapi).unwrap()
    }

    /// Every operation as `(method path, operation)`.
    fn operations(doc: &Value) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((format!("{method} {path}"), op));
            }
        }
        out
    }

    /// The component a `$ref` names.
    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                &doc["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    #[test]
    fn every_response_has_a_description() {
        let doc = document();
        let mut missing = Vec::new();
        for (op_name, op) in operations(&doc) {
            for (status, response) in op["responses"].as_object().unwrap() {
                if response["description"].as_str().is_none_or(str::is_empty) {
                    missing.push(format!("{op_name} {status}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "responses without a description: {missing:?}"
        );
    }

    /// Every object schema reachable from a request body, with its name.
    fn request_objects<'a>(doc: &'a Value, schema: &'a Value, out: &mut Vec<(String, &'a Value)>) {
        let name = schema["$ref"].as_str().unwrap_or("(inline)").to_owned();
        let s = resolve(doc, schema);
        if let Some(props) = s["properties"].as_object() {
            if out.iter().any(|(n, _)| *n == name && name != "(inline)") {
                return;
            }
            out.push((name, s));
            for p in props.values() {
                request_objects(doc, p, out);
            }
        }
        if s.get("items").is_some() {
            request_objects(doc, &s["items"], out);
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            for alt in s[key].as_array().into_iter().flatten() {
                request_objects(doc, alt, out);
            }
        }
    }

    #[test]
    fn request_bodies_are_closed_objects() {
        let doc = document();
        let mut objects = Vec::new();
        for (_, op) in operations(&doc) {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if !schema.is_null() {
                request_objects(&doc, schema, &mut objects);
            }
        }
        assert!(
            objects.len() >= 12,
            "found {} request objects",
            objects.len()
        );
        for (name, s) in &objects {
            assert_eq!(
                s["additionalProperties"],
                Value::Bool(false),
                "{name} must say additionalProperties: false"
            );
        }
    }

    #[test]
    fn times_and_dates_are_typed() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut checked = 0;
        for (name, s) in schemas {
            if name == "HoursInterval" || name == "TimeRange" {
                continue; // times of day, HH:MM
            }
            for (field, p) in s["properties"].as_object().into_iter().flatten() {
                let want = match field.as_str() {
                    "start" | "end" | "at" | "created_at" | "updated_at" | "expires_at" => {
                        "date-time"
                    }
                    "date" | "date_of_birth" => "date",
                    _ => continue,
                };
                checked += 1;
                assert_eq!(p["format"], want, "{name}.{field}");
            }
        }
        assert!(checked >= 15, "checked {checked} fields");
        for (op_name, op) in operations(&doc) {
            for param in op["parameters"].as_array().into_iter().flatten() {
                if matches!(param["name"].as_str(), Some("from" | "to")) {
                    assert_eq!(param["schema"]["format"], "date-time", "{op_name}");
                }
            }
        }
    }

    #[test]
    fn an_optional_body_is_not_required_and_not_null() {
        let doc = document();
        let body = &doc["paths"]["/api/v1/appointments/{id}/cancel"]["post"]["requestBody"];
        assert_ne!(body["required"], true, "{body}");
        assert_eq!(
            body["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CancelRequest",
            "{body}"
        );
        let book = &doc["paths"]["/api/v1/appointments"]["post"]["requestBody"];
        assert_eq!(book["required"], true, "{book}");
    }

    #[test]
    fn pages_refer_to_their_item_schema() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let pages: Vec<_> = schemas.keys().filter(|k| k.starts_with("Page_")).collect();
        assert!(pages.len() >= 5);
        for page in pages {
            let item = page.trim_start_matches("Page_");
            assert_eq!(
                schemas[page]["properties"]["items"]["items"]["$ref"],
                format!("#/components/schemas/{item}"),
                "{page}"
            );
        }
    }

    #[test]
    fn closed_word_sets_are_enums() {
        let doc = document();
        let s = &doc["components"]["schemas"];
        let enum_of = |schema: &str, field: &str| {
            let p = &s[schema]["properties"][field];
            resolve(&doc, p)["enum"].as_array().map_or(0, Vec::len)
        };
        assert_eq!(enum_of("AppointmentView", "status"), 5);
        assert_eq!(enum_of("AppointmentView", "payment_status"), 4);
        assert_eq!(enum_of("SessionCreated", "role"), 3);
        assert_eq!(enum_of("Me", "role"), 3);
        assert_eq!(enum_of("HoursInterval", "weekday"), 7);
    }
}
