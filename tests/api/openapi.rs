//! The OpenAPI document describes every API route, and the docs page is served.

use crate::helpers::{Backend, spawn_app};

async fn the_openapi_document_lists_every_operation(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.1.0");
    let paths = r.body["paths"].as_object().expect("paths");
    let expected = [
        ("/api/v1/sessions", "post"),
        ("/api/v1/sessions/current", "delete"),
        ("/api/v1/sessions", "get"),
        ("/api/v1/sessions", "delete"),
        ("/api/v1/sessions/{id}", "delete"),
        ("/api/v1/me/password", "post"),
        ("/api/v1/me/totp", "get"),
        ("/api/v1/me/totp", "post"),
        ("/api/v1/me/totp/confirm", "post"),
        ("/api/v1/me/totp/disable", "post"),
        ("/api/v1/me/export", "get"),
        ("/api/v1/me/close", "post"),
        ("/api/v1/password-reset", "post"),
        ("/api/v1/password-reset/confirm", "post"),
        ("/api/v1/me/phone", "post"),
        ("/api/v1/me/phone/confirm", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/patients", "post"),
        ("/api/v1/signup/confirm", "post"),
        ("/api/v1/patients/{id}", "get"),
        ("/api/v1/patients/{id}", "patch"),
        ("/api/v1/doctors", "get"),
        ("/api/v1/doctors", "post"),
        ("/api/v1/doctors/{id}", "get"),
        ("/api/v1/doctors/{id}", "patch"),
        ("/api/v1/specialties", "get"),
        ("/api/v1/doctors/{id}/availability", "get"),
        ("/api/v1/doctors/{id}/availability", "put"),
        ("/api/v1/doctors/{id}/time-off", "get"),
        ("/api/v1/doctors/{id}/time-off", "post"),
        ("/api/v1/doctors/{id}/time-off/{time_off_id}", "delete"),
        ("/api/v1/doctors/{id}/slots", "get"),
        ("/api/v1/appointments", "post"),
        ("/api/v1/appointments", "get"),
        ("/api/v1/appointments/{id}", "get"),
        ("/api/v1/appointments/{id}/cancel", "post"),
        ("/api/v1/appointments/{id}/reschedule", "post"),
        ("/api/v1/appointments/{id}/start", "post"),
        ("/api/v1/appointments/{id}/complete", "post"),
        ("/api/v1/appointments/{id}/no-show", "post"),
        ("/api/v1/appointments/{id}/visit", "get"),
        ("/api/v1/appointments/{id}/visit/signal", "get"),
        ("/api/v1/appointments/{id}/messages", "get"),
        ("/api/v1/appointments/{id}/messages", "post"),
        ("/api/v1/appointments/{id}/note", "put"),
        ("/api/v1/audit", "get"),
        ("/api/v1/audit/export", "get"),
        ("/api/v1/appointments/{id}/payment", "put"),
        ("/api/v1/admins", "get"),
        ("/api/v1/admins", "post"),
        ("/api/v1/admins/{id}/active", "put"),
        ("/api/v1/demo", "delete"),
        ("/api/v1/webhooks", "get"),
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks/{id}", "get"),
        ("/api/v1/webhooks/{id}", "patch"),
        ("/api/v1/webhooks/{id}", "delete"),
        ("/api/v1/webhooks/{id}/rotate", "post"),
        ("/api/v1/webhooks/{id}/test", "post"),
        ("/api/v1/webhooks/{id}/deliveries", "get"),
        ("/api/v1/notifications", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let operations: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |o| o.len()))
        .sum();
    assert_eq!(
        operations,
        expected.len(),
        "undocumented or unexpected operations"
    );
    assert!(r.body["components"]["schemas"]["Problem"].is_object());

    let docs = crate::helpers::client()
        .get(app.url("/api/docs/"))
        .send()
        .await
        .expect("docs");
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap_or_default();
    assert!(html.contains("swagger"), "docs page is Swagger UI");
}

async fn unknown_routes_and_methods_answer_problem_documents(backend: Backend) {
    let app = spawn_app(backend).await;
    app.get("/api/v1/nothing-here", None)
        .await
        .assert_problem(404, "not_found");
    app.call(reqwest::Method::DELETE, "/api/v1/doctors", None, None)
        .await
        .assert_problem(405, "method_not_allowed");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200);
    let expected = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(ready.body["database"], expected);
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

/// Found by the API fuzzer: PostgreSQL cannot store NUL in text, so it was a 500.
async fn nul_characters_are_refused_before_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .get("/api/v1/doctors?specialty=Card%00iology", None)
        .await;
    r.assert_problem(422, "validation_failed");
    let r = app
        .post(
            "/api/v1/patients",
            None,
            serde_json::json!({"first_name": "A\u{0}", "last_name": "B", "phone": "+12125550100",
                               "password": "long enough pw", "date_of_birth": "1990-01-01"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "first_name");
    app.get("/api/v1/doctors?q=%00", None)
        .await
        .assert_problem(422, "validation_failed");
}

crate::both_backends!(
    nul_characters_are_refused_before_the_database,
    the_openapi_document_lists_every_operation,
    unknown_routes_and_methods_answer_problem_documents,
);
