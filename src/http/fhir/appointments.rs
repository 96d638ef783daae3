//! Appointment: read, search, create (book), update and patch (cancel,
//! start, complete, no-show, move), and the IHE ITI Scheduling operations
//! `$find` (proposed appointments from free slots), `$hold` (a five-minute
//! reservation) and `$book`. Every booking goes through the same use case as
//! the JSON API's, with its guarantees (decision 0015).

use super::directory::{date_bounds, parse_slot_id, searchset, slot_id};
use super::resources::{self, Bundle, CodeableConcept, Meta, Parameters, Participant, Reference};
use super::{
    FhirCaller, FhirError, FhirResult, Search, fhir_json, instant, parse_instant, reference_id,
};
use crate::domain::appointment::{Appointment, Status};
use crate::domain::caller::Caller;
use crate::domain::ids::{AppointmentId, DoctorId, PatientId};
use crate::domain::limits::Action as Limited;
use crate::http::AppState;
use crate::http::extract::ClientAddr;
use crate::usecases::appointments::{self as visits, AppointmentQuery, Booking, Hold};
use crate::usecases::{Error, doctors, limits, schedule};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use jiff::Timestamp;

/// Our statuses in FHIR's words (decision 0015 says why `arrived`).
pub fn fhir_status(s: Status) -> &'static str {
    match s {
        Status::Booked => "booked",
        Status::InProgress => "arrived",
        Status::Completed => "fulfilled",
        Status::NoShow => "noshow",
        Status::Cancelled => "cancelled",
    }
}

fn status_of(code: &str) -> Option<Status> {
    match code {
        "booked" => Some(Status::Booked),
        "arrived" => Some(Status::InProgress),
        "fulfilled" => Some(Status::Completed),
        "noshow" => Some(Status::NoShow),
        "cancelled" => Some(Status::Cancelled),
        _ => None,
    }
}

fn participant(reference: String, display: String) -> Participant {
    Participant {
        type_: Vec::new(),
        actor: Some(Reference::to(reference, Some(display))),
        required: Some("required".into()),
        status: "accepted".into(),
    }
}

fn minutes(start: Timestamp, end: Timestamp) -> i64 {
    end.duration_since(start).as_secs() / 60
}

/// A visit as a FHIR Appointment, at `version`.
pub fn appointment(a: &Appointment, version: i64) -> resources::Appointment {
    let cancelled = a.status == Status::Cancelled;
    resources::Appointment {
        resource_type: "Appointment".into(),
        id: Some(a.id.to_string()),
        meta: Some(Meta {
            version_id: Some(version.to_string()),
            last_updated: Some(instant(a.updated_at)),
        }),
        status: fhir_status(a.status).into(),
        cancelation_reason: a
            .cancel_reason
            .as_ref()
            .filter(|_| cancelled)
            .map(|r| CodeableConcept::text(r.clone())),
        specialty: Vec::new(),
        reason_code: a
            .reason
            .as_ref()
            .map(|r| vec![CodeableConcept::text(r.clone())])
            .unwrap_or_default(),
        description: Some(format!("Video visit with Dr. {}", a.doctor_name())),
        start: Some(instant(a.start_at)),
        end: Some(instant(a.end_at)),
        minutes_duration: Some(minutes(a.start_at, a.end_at)),
        slot: vec![Reference::to(
            format!("Slot/{}", slot_id(a.doctor_id, a.start_at)),
            None,
        )],
        created: Some(instant(a.created_at)),
        comment: None,
        participant: vec![
            participant(format!("Patient/{}", a.patient_id), a.patient_name()),
            participant(
                format!("Practitioner/{}", a.doctor_id),
                format!("Dr. {}", a.doctor_name()),
            ),
        ],
    }
}

/// A free slot offered as a proposed appointment (`$find`): `Appointment/p<slot>`.
fn proposal(
    doctor: &crate::domain::doctor::Doctor,
    start: Timestamp,
    end: Timestamp,
    patient: Option<PatientId>,
) -> resources::Appointment {
    let mut participant_list = vec![participant(
        format!("Practitioner/{}", doctor.id),
        format!("Dr. {}", doctor.full_name()),
    )];
    if let Some(p) = patient {
        participant_list.insert(
            0,
            Participant {
                status: "needs-action".into(),
                ..participant(format!("Patient/{p}"), "you".into())
            },
        );
    }
    resources::Appointment {
        resource_type: "Appointment".into(),
        id: Some(format!("p{}", slot_id(doctor.id, start))),
        status: "proposed".into(),
        specialty: vec![CodeableConcept::text(doctor.specialty.clone())],
        description: Some(format!("Video visit with Dr. {}", doctor.full_name())),
        start: Some(instant(start)),
        end: Some(instant(end)),
        minutes_duration: Some(minutes(start, end)),
        slot: vec![Reference::to(
            format!("Slot/{}", slot_id(doctor.id, start)),
            None,
        )],
        participant: participant_list,
        ..Default::default()
    }
}

/// A hold as a pending appointment: `Appointment/h<id>`.
fn held(h: &Hold, doctor: &crate::domain::doctor::Doctor) -> resources::Appointment {
    resources::Appointment {
        id: Some(format!("h{}", h.id)),
        status: if h.released { "cancelled" } else { "pending" }.into(),
        comment: Some(format!("Held for you until {}.", instant(h.expires))),
        participant: vec![
            Participant {
                status: "accepted".into(),
                ..participant(format!("Patient/{}", h.patient_id), "you".into())
            },
            participant(
                format!("Practitioner/{}", doctor.id),
                format!("Dr. {}", doctor.full_name()),
            ),
        ],
        ..proposal(doctor, h.start, h.end, None)
    }
}

fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The answer for one stored visit: the resource with its ETag (and its
/// Location when it was just made).
async fn answer(
    state: &AppState,
    caller: &Caller,
    a: &Appointment,
    status: StatusCode,
    base: &str,
) -> FhirResult {
    let version = visits::version(&state.clinic, caller, a.id).await?;
    let mut res = fhir_json(status, &appointment(a, version));
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) =
            HeaderValue::from_str(&format!("{base}/Appointment/{}/_history/{version}", a.id))
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

fn need_login(caller: &Caller) -> FhirResult<()> {
    if caller.is_logged_in() {
        Ok(())
    } else {
        Err(Error::Unauthenticated.into())
    }
}

/// `GET /fhir/Appointment/{id}`: a visit, a proposal (`p...`) or a hold (`h...`).
pub async fn read(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
    Path(id): Path<String>,
) -> FhirResult {
    let missing = || FhirError::not_found(&format!("Appointment/{id}"));
    if let Some(slot) = id.strip_prefix('p') {
        let (doctor_id, start) = parse_slot_id(slot).ok_or_else(missing)?;
        let doctor = doctors::visible(&state.clinic, &caller, doctor_id)
            .await
            .map_err(|_| missing())?;
        let to = start
            .checked_add(jiff::SignedDuration::from_secs(1))
            .map_err(|_| missing())?;
        let free = schedule::free_slots(&state.clinic, &caller, doctor_id, Some(start), Some(to))
            .await
            .map_err(|_| missing())?;
        let p = free
            .into_iter()
            .find(|p| p.start == start)
            .ok_or_else(missing)?;
        return Ok(fhir_json(
            StatusCode::OK,
            &proposal(&doctor, p.start, p.end, caller.patient_id()),
        ));
    }
    need_login(&caller)?;
    if let Some(hold) = id.strip_prefix('h') {
        let n = hold.parse::<i64>().map_err(|_| missing())?;
        let h = visits::read_hold(&state.clinic, &caller, n)
            .await
            .map_err(|_| missing())?;
        let doctor = doctors::visible(&state.clinic, &Caller::System, h.doctor_id).await?;
        return Ok(fhir_json(StatusCode::OK, &held(&h, &doctor)));
    }
    let n = super::number(&id, "Appointment")?;
    let a = visits::read(&state.clinic, &caller, AppointmentId::new(n))
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => missing(),
            other => other.into(),
        })?;
    answer(&state, &caller, &a, StatusCode::OK, &search.base).await
}

/// The number of a `Patient/<n>` or `Practitioner/<n>` search value.
fn ref_number(value: &str, kind: &str, name: &str) -> FhirResult<i64> {
    reference_id(value, kind)
        .and_then(|i| i.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| FhirError::bad_request(format!("`{name}` must be {kind}/<id>.")))
}

/// `GET /fhir/Appointment`: `patient`, `practitioner`, `actor`, `date`
/// (ge/gt/le/lt/eq), `status`, `_count`; the caller's visits only.
pub async fn search(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
) -> FhirResult {
    search.only(&["patient", "practitioner", "actor", "date", "status"])?;
    need_login(&caller)?;
    let mut q = AppointmentQuery {
        limit: Some(search.count()?),
        ..AppointmentQuery::default()
    };
    if let Some(p) = search.one("patient") {
        q.patient_id = Some(PatientId::new(ref_number(p, "Patient", "patient")?));
    }
    if let Some(p) = search.one("practitioner") {
        q.doctor_id = Some(DoctorId::new(ref_number(
            p,
            "Practitioner",
            "practitioner",
        )?));
    }
    if let Some(a) = search.one("actor") {
        if a.starts_with("Practitioner/") {
            q.doctor_id = Some(DoctorId::new(ref_number(a, "Practitioner", "actor")?));
        } else {
            q.patient_id = Some(PatientId::new(ref_number(a, "Patient", "actor")?));
        }
    }
    let (from, to) = date_bounds(&search.all("date"), "date")?;
    q.from = from;
    q.to = to;
    let codes: Vec<&str> = search
        .all("status")
        .iter()
        .flat_map(|s| s.split(','))
        .collect();
    q.statuses = codes.iter().filter_map(|c| status_of(c)).collect();
    let empty = |search: &Search| -> FhirResult {
        Ok(fhir_json(
            StatusCode::OK,
            &searchset(
                search,
                "Appointment",
                Vec::<(String, resources::Appointment)>::new(),
                None,
            )?,
        ))
    };
    if !codes.is_empty() && q.statuses.is_empty() {
        // Only statuses no stored visit has (proposed, pending, ...).
        return empty(&search);
    }
    if let Some(c) = search.one("_cursor") {
        let (s, id) = c
            .split_once('.')
            .and_then(|(s, i)| Some((s.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
            .and_then(|(s, i)| Some((Timestamp::from_second(s).ok()?, AppointmentId::new(i))))
            .ok_or_else(|| FhirError::bad_request("`_cursor` is not one of ours."))?;
        q.after = Some((s, id));
    }
    let page = match visits::list(&state.clinic, &caller, &q).await {
        Ok(p) => p,
        // A patient or doctor the caller may not see: no matches, not an error.
        Err(Error::NotFound(_)) => return empty(&search),
        Err(e) => return Err(e.into()),
    };
    let next = if page.more {
        page.items
            .last()
            .map(|a| format!("{}.{}", a.start_at.as_second(), a.id))
    } else {
        None
    };
    let mut items = Vec::with_capacity(page.items.len());
    for a in &page.items {
        let version = visits::version(&state.clinic, &caller, a.id).await?;
        items.push((a.id.to_string(), appointment(a, version)));
    }
    Ok(fhir_json(
        StatusCode::OK,
        &searchset(&search, "Appointment", items, next)?,
    ))
}

/// A request body as JSON of FHIR's (or plain JSON's) media type.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    patch: bool,
) -> FhirResult<T> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let accepted: &[&str] = if patch {
        &["application/json-patch+json"]
    } else {
        &[
            "application/fhir+json",
            "application/json",
            "application/json+fhir",
        ]
    };
    if !accepted.contains(&media.as_str()) {
        return Err(FhirError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            format!("Send {}.", accepted.join(" or ")),
        ));
    }
    let structure = |e: serde_json::Error| {
        FhirError::new(
            StatusCode::BAD_REQUEST,
            "structure",
            format!("The body is not the JSON expected: {e}"),
        )
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(structure)?;
    if crate::http::extract::control_in(&value, "").is_some() {
        return Err(FhirError::bad_request(
            "Control characters (such as NUL) are not allowed in the body.",
        ));
    }
    serde_json::from_value(value).map_err(structure)
}

/// What a client's Appointment asks to book: the practitioner, the start,
/// and the reason.
struct Wanted {
    doctor: DoctorId,
    start: Timestamp,
    reason: Option<String>,
}

fn wanted(a: &resources::Appointment, caller: &Caller) -> FhirResult<Wanted> {
    if a.resource_type != "Appointment" {
        return Err(FhirError::invalid("The resource must be an Appointment."));
    }
    let start = a
        .start
        .as_deref()
        .ok_or_else(|| FhirError::invalid("Appointment.start is required: a free slot's start."))?;
    let start = parse_instant(start)
        .filter(|_| start.len() > 10)
        .ok_or_else(|| FhirError::invalid("Appointment.start must be an instant with its zone."))?;
    let mut doctor = None;
    for p in &a.participant {
        let Some(reference) = p.actor.as_ref().and_then(|r| r.reference.as_deref()) else {
            if p.type_.is_empty() {
                return Err(FhirError::invalid(
                    "Each participant needs an actor or a type (app-1).",
                ));
            }
            continue;
        };
        if let Some(id) = reference_id(reference, "Practitioner") {
            doctor = Some(super::number(id, "Practitioner").map_err(|_| {
                FhirError::invalid(format!("{reference} is not a practitioner here."))
            })?);
        } else if let Some(id) = reference_id(reference, "Patient") {
            let n: i64 = id.parse().unwrap_or(0);
            if caller.patient_id().map(|p| p.get()) != Some(n) {
                return Err(FhirError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Patients book for themselves: the Patient participant must be you.",
                ));
            }
        }
    }
    let doctor = doctor.ok_or_else(|| {
        FhirError::invalid("A participant must be the Practitioner (Practitioner/<id>).")
    })?;
    let reason = a
        .reason_code
        .first()
        .and_then(|r| r.text.clone())
        .or_else(|| a.comment.clone());
    Ok(Wanted {
        doctor: DoctorId::new(doctor),
        start,
        reason,
    })
}

async fn book_wanted(
    state: &AppState,
    caller: &Caller,
    addr: &str,
    w: Wanted,
) -> FhirResult<Appointment> {
    limits::admit(&state.clinic, Limited::Booking, caller, addr)?;
    Ok(visits::book(
        &state.clinic,
        caller,
        &Booking {
            doctor_id: w.doctor,
            start: w.start,
            reason: w.reason,
            idempotency_key: None,
        },
    )
    .await?)
}

/// `POST /fhir/Appointment`: books (status `booked`, `pending` or
/// `proposed`; the Practitioner participant and a free slot's start).
pub async fn create(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    ClientAddr(addr, _): ClientAddr,
    search: Search,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    need_login(&caller)?;
    let a: resources::Appointment = json_body(&headers, &body, false)?;
    if !matches!(a.status.as_str(), "booked" | "pending" | "proposed") {
        return Err(FhirError::invalid(
            "A new Appointment's status is booked, pending or proposed.",
        ));
    }
    let w = wanted(&a, &caller)?;
    let booked = book_wanted(&state, &caller, &addr, w).await?;
    answer(&state, &caller, &booked, StatusCode::CREATED, &search.base).await
}

/// The version an `If-Match` asks for, if any.
fn if_match(headers: &HeaderMap) -> FhirResult<Option<i64>> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| FhirError::bad_request("If-Match must be an ETag such as W/\"3\"."))
}

/// Makes the visit what `to` says (its status, or its start for a move),
/// after checking `If-Match`.
async fn change(
    state: &AppState,
    caller: &Caller,
    addr: &str,
    id: AppointmentId,
    to: &resources::Appointment,
    expected: Option<i64>,
) -> FhirResult<Appointment> {
    let current = visits::read(&state.clinic, caller, id).await?;
    let version = visits::version(&state.clinic, caller, id).await?;
    if let Some(v) = expected
        && v != version
    {
        return Err(FhirError::new(
            StatusCode::PRECONDITION_FAILED,
            "conflict",
            format!("The appointment is at version {version}, not {v}: read it again."),
        ));
    }
    if to.resource_type != "Appointment" {
        return Err(FhirError::invalid("The resource must be an Appointment."));
    }
    let Some(status) = status_of(&to.status) else {
        return Err(FhirError::invalid(format!(
            "Appointment.status `{}` cannot be set here: booked, arrived, fulfilled, noshow or cancelled.",
            to.status
        )));
    };
    if to.cancelation_reason.is_some() && !matches!(status, Status::Cancelled | Status::NoShow) {
        return Err(FhirError::invalid(
            "cancelationReason is only for cancelled or noshow appointments (app-4).",
        ));
    }
    let clinic = &state.clinic;
    let updated = if status == current.status {
        match to.start.as_deref().map(parse_instant) {
            Some(Some(start)) if start != current.start_at && status == Status::Booked => {
                limits::admit(clinic, Limited::Booking, caller, addr)?;
                visits::reschedule(clinic, caller, id, start).await?
            }
            Some(None) => {
                return Err(FhirError::invalid("Appointment.start must be an instant."));
            }
            _ => current,
        }
    } else {
        match status {
            Status::Cancelled => {
                let reason = to.cancelation_reason.as_ref().and_then(|r| {
                    r.text.clone().or_else(|| {
                        r.coding
                            .first()
                            .and_then(|c| c.display.clone().or(c.code.clone()))
                    })
                });
                visits::cancel(clinic, caller, id, reason.as_deref()).await?
            }
            Status::InProgress => visits::start(clinic, caller, id).await?,
            Status::Completed => visits::complete(clinic, caller, id).await?,
            Status::NoShow => visits::no_show(clinic, caller, id).await?,
            Status::Booked => {
                return Err(FhirError::new(
                    StatusCode::CONFLICT,
                    "business-rule",
                    "A visit does not go back to booked.",
                ));
            }
        }
    };
    Ok(updated)
}

fn stored_id(id: &str) -> FhirResult<AppointmentId> {
    Ok(AppointmentId::new(super::number(id, "Appointment")?))
}

/// `PUT /fhir/Appointment/{id}`: cancel, start, complete, no-show or move
/// (the status or start of the resource sent); `If-Match` honoured.
pub async fn update(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    ClientAddr(addr, _): ClientAddr,
    search: Search,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    need_login(&caller)?;
    let n = stored_id(&id)?;
    let to: resources::Appointment = json_body(&headers, &body, false)?;
    if to.id.as_deref() != Some(id.as_str()) {
        return Err(FhirError::bad_request(
            "The resource's id must be the id in the URL.",
        ));
    }
    let updated = change(&state, &caller, &addr, n, &to, if_match(&headers)?).await?;
    answer(&state, &caller, &updated, StatusCode::OK, &search.base).await
}

/// `PATCH /fhir/Appointment/{id}` with a JSON Patch (`application/json-patch+json`),
/// such as `[{"op": "replace", "path": "/status", "value": "cancelled"}]`.
pub async fn patch(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    ClientAddr(addr, _): ClientAddr,
    search: Search,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    need_login(&caller)?;
    let n = stored_id(&id)?;
    let ops: json_patch::Patch = json_body(&headers, &body, true)?;
    let current = visits::read(&state.clinic, &caller, n).await?;
    let version = visits::version(&state.clinic, &caller, n).await?;
    let mut doc = serde_json::to_value(appointment(&current, version))
        .map_err(|e| FhirError::from(Error::internal(&e)))?;
    json_patch::patch(&mut doc, &ops)
        .map_err(|e| FhirError::invalid(format!("The patch does not apply: {e}")))?;
    let to: resources::Appointment = serde_json::from_value(doc)
        .map_err(|e| FhirError::invalid(format!("The patched resource is not valid: {e}")))?;
    let updated = change(&state, &caller, &addr, n, &to, if_match(&headers)?).await?;
    answer(&state, &caller, &updated, StatusCode::OK, &search.base).await
}

/// The operation input: `Parameters` in a POST body.
fn parameters(headers: &HeaderMap, body: &Bytes) -> FhirResult<Parameters> {
    let p: Parameters = json_body(headers, body, false)?;
    if p.resource_type != "Parameters" {
        return Err(FhirError::bad_request("Send a Parameters resource."));
    }
    Ok(p)
}

/// `$find`'s input, however it came.
struct FindInput {
    start: Option<String>,
    end: Option<String>,
    practitioners: Vec<String>,
    specialties: Vec<String>,
    count: Option<String>,
}

async fn find(state: &AppState, caller: &Caller, search: &Search, input: FindInput) -> FhirResult {
    let start = input
        .start
        .as_deref()
        .and_then(parse_instant)
        .ok_or_else(|| FhirError::bad_request("$find needs `start` (a dateTime)."))?;
    let end = input
        .end
        .as_deref()
        .and_then(parse_instant)
        .ok_or_else(|| FhirError::bad_request("$find needs `end` (a dateTime)."))?;
    if end <= start {
        return Err(FhirError::bad_request("`end` must be after `start`."));
    }
    let count: usize = match input.count.as_deref() {
        None => 50,
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| FhirError::bad_request("`_count` must be a number from 1 to 200."))?,
    };
    let mut doctors_wanted = Vec::new();
    for p in &input.practitioners {
        let n = reference_id(p, "Practitioner")
            .and_then(|i| i.parse::<i64>().ok())
            .ok_or_else(|| FhirError::bad_request("`practitioner` must be Practitioner/<id>."))?;
        match doctors::visible(&state.clinic, caller, DoctorId::new(n)).await {
            Ok(d) => doctors_wanted.push(d),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if input.practitioners.is_empty() {
        let specialty = input
            .specialties
            .first()
            .map(|s| s.rsplit('|').next().unwrap_or(s).to_owned());
        let page = doctors::find(
            &state.clinic,
            caller,
            &doctors::DoctorQuery {
                specialty,
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?;
        doctors_wanted = page.items;
    } else if !input.specialties.is_empty() {
        doctors_wanted.retain(|d| {
            input.specialties.iter().any(|s| {
                s.rsplit('|')
                    .next()
                    .unwrap_or(s)
                    .eq_ignore_ascii_case(&d.specialty)
            })
        });
    }
    let mut offers = Vec::new();
    for d in &doctors_wanted {
        let free = schedule::free_slots(&state.clinic, caller, d.id, Some(start), Some(end))
            .await
            .map_err(|e| match e {
                Error::Invalid(_) => {
                    FhirError::bad_request("$find spans at most 62 days: narrow start and end.")
                }
                other => other.into(),
            })?;
        for p in free {
            offers.push((
                p.start,
                d.id,
                proposal(d, p.start, p.end, caller.patient_id()),
            ));
        }
    }
    offers.sort_by_key(|(start, doctor, _)| (*start, *doctor));
    offers.truncate(count);
    let items = offers
        .into_iter()
        .map(|(_, _, a)| (a.id.clone().unwrap_or_default(), a))
        .collect();
    Ok(fhir_json(
        StatusCode::OK,
        &searchset(search, "Appointment", items, None)?,
    ))
}

/// `GET /fhir/Appointment/$find?start=...&end=...&practitioner=...&specialty=...`
pub async fn find_get(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
) -> FhirResult {
    search.only(&["start", "end", "practitioner", "specialty"])?;
    let input = FindInput {
        start: search.one("start").map(str::to_owned),
        end: search.one("end").map(str::to_owned),
        practitioners: search
            .all("practitioner")
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        specialties: search
            .all("specialty")
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        count: search.one("_count").map(str::to_owned),
    };
    find(&state, &caller, &search, input).await
}

/// `POST /fhir/Appointment/$find` with `Parameters`.
pub async fn find_post(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    let p = parameters(&headers, &body)?;
    let values = |name: &str| -> Vec<String> {
        p.parameter
            .iter()
            .filter(|x| x.name == name)
            .filter_map(resources::Parameter::text)
            .collect()
    };
    let known = ["start", "end", "practitioner", "specialty", "_count"];
    if let Some(other) = p
        .parameter
        .iter()
        .find(|x| !known.contains(&x.name.as_str()))
        && !search.lenient
    {
        return Err(FhirError::bad_request(format!(
            "Unknown $find parameter `{}`.",
            other.name
        )));
    }
    let input = FindInput {
        start: values("start").into_iter().next(),
        end: values("end").into_iter().next(),
        practitioners: values("practitioner"),
        specialties: values("specialty"),
        count: values("_count").into_iter().next(),
    };
    find(&state, &caller, &search, input).await
}

/// A bundle of one appointment (what `$hold` and `$book` answer).
fn one(search: &Search, id: String, a: resources::Appointment) -> FhirResult<Bundle> {
    searchset(search, "Appointment", vec![(id, a)], None)
}

/// The IHE operations' `appointment-reference` (a valueReference).
fn reference_param(p: &Parameters) -> Option<String> {
    p.parameter
        .iter()
        .find(|x| x.name == "appointment-reference")
        .and_then(|x| x.value_reference.as_ref())
        .and_then(|r| r.reference.clone())
}

/// The doctor and start a reference to a proposal (`Appointment/p...`)
/// names.
fn proposal_ref(reference: &str) -> Option<(DoctorId, Timestamp)> {
    let id = reference_id(reference, "Appointment")?;
    parse_slot_id(id.strip_prefix('p')?)
}

/// `POST /fhir/Appointment/$hold` with `appointment-reference` to a `$find`
/// proposal: held for the calling patient for five minutes.
pub async fn hold(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    need_login(&caller)?;
    let p = parameters(&headers, &body)?;
    let reference = reference_param(&p).ok_or_else(|| {
        FhirError::bad_request("$hold needs `appointment-reference` (valueReference).")
    })?;
    let (doctor_id, start) = proposal_ref(&reference)
        .ok_or_else(|| FhirError::invalid(format!("{reference} is not a proposal from $find.")))?;
    let h = visits::hold(&state.clinic, &caller, doctor_id, start).await?;
    let doctor = doctors::visible(&state.clinic, &Caller::System, doctor_id).await?;
    let bundle = one(&search, format!("h{}", h.id), held(&h, &doctor))?;
    Ok(fhir_json(StatusCode::OK, &bundle))
}

/// `POST /fhir/Appointment/$book` with `appointment-reference` (a proposal
/// `p...` or a hold `h...`) or `appointment-resource` (a pending Appointment
/// to book, or a stored one with status `cancelled` to cancel or a new
/// start to move): the booked appointment, or OperationOutcome 409.
pub async fn book(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    ClientAddr(addr, _): ClientAddr,
    search: Search,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult {
    need_login(&caller)?;
    let p = parameters(&headers, &body)?;
    let reference = reference_param(&p);
    let resource = p
        .parameter
        .iter()
        .find(|x| x.name == "appointment-resource")
        .and_then(|x| x.resource.clone());
    let booked = match (reference, resource) {
        (Some(reference), None) => {
            let id = reference_id(&reference, "Appointment").unwrap_or("");
            let (doctor, start) = if let Some(hold) = id.strip_prefix('h') {
                let n = hold
                    .parse::<i64>()
                    .map_err(|_| FhirError::invalid(format!("{reference} is not a hold here.")))?;
                let h = visits::read_hold(&state.clinic, &caller, n).await?;
                (h.doctor_id, h.start)
            } else {
                proposal_ref(&reference).ok_or_else(|| {
                    FhirError::invalid(format!("{reference} is not a proposal or a hold."))
                })?
            };
            book_wanted(
                &state,
                &caller,
                &addr,
                Wanted {
                    doctor,
                    start,
                    reason: None,
                },
            )
            .await?
        }
        (None, Some(resource)) => {
            let a: resources::Appointment = serde_json::from_value(resource).map_err(|e| {
                FhirError::invalid(format!("appointment-resource is not an Appointment: {e}"))
            })?;
            if let Some(id) = a.id.as_deref().filter(|i| i.parse::<i64>().is_ok()) {
                // A stored visit: cancel or move it (IHE's modify and cancel).
                change(&state, &caller, &addr, stored_id(id)?, &a, None).await?
            } else {
                if !matches!(a.status.as_str(), "pending" | "proposed" | "booked") {
                    return Err(FhirError::invalid(
                        "appointment-resource to book has status pending.",
                    ));
                }
                let w = wanted(&a, &caller)?;
                book_wanted(&state, &caller, &addr, w).await?
            }
        }
        _ => {
            return Err(FhirError::bad_request(
                "$book needs one of `appointment-reference` or `appointment-resource`.",
            ));
        }
    };
    let version = visits::version(&state.clinic, &caller, booked.id).await?;
    let bundle = one(
        &search,
        booked.id.to_string(),
        appointment(&booked, version),
    )?;
    let mut res = fhir_json(StatusCode::OK, &bundle);
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}
