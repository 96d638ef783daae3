//! Adds the error answers every operation can give to the OpenAPI document, so
//! that generated clients know them: 400 for a body or query that does not parse,
//! 401 where a session is required, 413/415 where there is a body, 422 for
//! validation, 503 when the database is overloaded. Handlers document only the
//! answers specific to them.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Content, Ref, RefOr};

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

pub struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
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
                if op.request_body.is_some()
                    || op.parameters.as_ref().is_some_and(|p| !p.is_empty())
                {
                    add(
                        op,
                        "422",
                        "Invalid input (`validation_failed`, `invalid_body`)",
                    );
                }
            }
        }
    }
}
