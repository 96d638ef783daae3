//! The CapabilityStatement, and the resources people and schedules are:
//! Practitioner (a doctor), Patient, Schedule (one per doctor) and Slot
//! (computed from the doctor's hours, time off, bookings and holds).

use super::resources::{
    Bundle, BundleEntry, BundleLink, BundleSearch, CodeableConcept, ContactPoint, HumanName, Meta,
    Patient, Period, Practitioner, Qualification, Reference, Schedule, Slot,
};
use super::{
    FhirCaller, FhirError, FhirResult, Search, fhir_json, instant, number, parse_instant,
    reference_id,
};
use crate::domain::doctor::Doctor;
use crate::domain::ids::{DoctorId, PatientId};
use crate::domain::schedule::Period as SlotPeriod;
use crate::http::AppState;
use crate::usecases::{doctors, patients, schedule};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;

/// `GET /fhir/metadata`: what this server does, and nothing else.
pub async fn metadata(State(state): State<AppState>, search: Search) -> Response {
    let param = |name: &str, kind: &str| json!({"name": name, "type": kind});
    let count = param("_count", "number");
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(state.clinic.now()),
        "publisher": "medimeet",
        "kind": "instance",
        "software": {"name": "medimeet", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "medimeet FHIR R4 scheduling", "url": search.base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "description": "Bearer tokens of the medimeet API (POST /api/v1/sessions). Practitioner, Schedule and Slot are public; Patient and Appointment need a token."
            },
            "resource": [
                {
                    "type": "Practitioner",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [param("_id", "token"), param("name", "string"), count]
                },
                {
                    "type": "Patient",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [param("_id", "token")]
                },
                {
                    "type": "Schedule",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [param("_id", "token"), param("actor", "reference"), param("specialty", "token"), count]
                },
                {
                    "type": "Slot",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [param("schedule", "reference"), param("start", "date"), param("status", "token"), count]
                },
                {
                    "type": "Appointment",
                    "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "create"}, {"code": "update"}, {"code": "patch"}],
                    "versioning": "versioned",
                    "conditionalUpdate": false,
                    "updateCreate": false,
                    "searchParam": [
                        param("patient", "reference"), param("practitioner", "reference"),
                        param("actor", "reference"), param("date", "date"), param("status", "token"), count
                    ],
                    "operation": [
                        {"name": "find", "definition": "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find"},
                        {"name": "hold", "definition": "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-hold"},
                        {"name": "book", "definition": "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-book"}
                    ]
                }
            ]
        }]
    });
    fhir_json(StatusCode::OK, &body)
}

/// A search result page as a Bundle.
pub(super) fn searchset<T: Serialize>(
    search: &Search,
    kind: &str,
    items: Vec<(String, T)>,
    next: Option<String>,
) -> FhirResult<Bundle> {
    let mut link = vec![BundleLink {
        relation: "self",
        url: search.url.clone(),
    }];
    if let Some(cursor) = next {
        link.push(BundleLink {
            relation: "next",
            url: search.next_url(&cursor),
        });
    }
    let entry = items
        .into_iter()
        .map(|(id, r)| {
            Ok(BundleEntry {
                full_url: format!("{}/{kind}/{id}", search.base),
                resource: serde_json::to_value(r)
                    .map_err(|e| FhirError::from(crate::usecases::Error::internal(&e)))?,
                search: BundleSearch { mode: "match" },
            })
        })
        .collect::<FhirResult<Vec<_>>>()?;
    Ok(Bundle {
        resource_type: "Bundle",
        type_: "searchset",
        total: None,
        link,
        entry,
    })
}

pub(super) fn practitioner(d: &Doctor) -> Practitioner {
    Practitioner {
        resource_type: "Practitioner",
        id: d.id.to_string(),
        meta: Meta {
            version_id: None,
            last_updated: Some(instant(d.updated_at)),
        },
        active: d.active,
        name: vec![HumanName {
            use_: Some("official".into()),
            text: Some(format!("Dr. {}", d.full_name())),
            family: Some(d.last_name.clone()),
            given: vec![d.first_name.clone()],
            prefix: vec!["Dr.".into()],
        }],
        qualification: vec![Qualification {
            code: CodeableConcept::text(d.specialty.clone()),
        }],
    }
}

pub async fn read_practitioner(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    _search: Search,
    Path(id): Path<String>,
) -> FhirResult {
    let n = number(&id, "Practitioner")?;
    let d = doctors::visible(&state.clinic, &caller, DoctorId::new(n))
        .await
        .map_err(|_| FhirError::not_found(&format!("Practitioner/{id}")))?;
    Ok(fhir_json(StatusCode::OK, &practitioner(&d)))
}

/// A page of the doctors after `_cursor` matching the query, and the next
/// page's cursor. `only`: the doctor ids the search is limited to (`_id`,
/// or a Schedule's `actor`), if any. Those are matched over the whole
/// directory, not within one page of it: a first page is never empty while
/// a later one holds the doctor asked for.
async fn doctor_page(
    state: &AppState,
    caller: &crate::domain::caller::Caller,
    search: &Search,
    specialty: Option<String>,
    only: Option<&[String]>,
) -> FhirResult<(Vec<Doctor>, Option<String>)> {
    let mut after = match search.one("_cursor") {
        Some(c) => {
            Some(DoctorId::new(c.parse::<i64>().map_err(|_| {
                FhirError::bad_request("`_cursor` is not one of ours.")
            })?))
        }
        None => None,
    };
    let count = search.count()?;
    let query = |after: Option<DoctorId>, limit: i64| doctors::DoctorQuery {
        specialty: specialty.clone(),
        q: search.one("name").map(str::to_owned),
        include_inactive: false,
        after,
        limit: Some(limit),
    };
    let Some(only) = only else {
        let page = doctors::find(&state.clinic, caller, &query(after, count)).await?;
        let next = if page.more {
            page.items.last().map(|d| d.id.to_string())
        } else {
            None
        };
        return Ok((page.items, next));
    };
    let limit = usize::try_from(count).unwrap_or(50);
    let mut items: Vec<Doctor> = Vec::new();
    loop {
        let page = doctors::find(&state.clinic, caller, &query(after, 200)).await?;
        after = page.items.last().map(|d| d.id);
        items.extend(
            page.items
                .into_iter()
                .filter(|d| only.contains(&d.id.to_string())),
        );
        if items.len() > limit || !page.more || after.is_none() {
            break;
        }
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok((items, next))
}

/// The values of a token or reference parameter, comma lists split, as the
/// ids they name (`kind/<id>` or a bare id); `None` when the parameter is
/// absent.
fn ids_of(search: &Search, name: &str, kind: &str) -> Option<Vec<String>> {
    let values = search.all(name);
    if values.is_empty() {
        return None;
    }
    Some(
        values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|v| reference_id(v.trim(), kind).unwrap_or("").to_owned())
            .collect(),
    )
}

pub async fn search_practitioners(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
) -> FhirResult {
    search.only(&["_id", "name"])?;
    let only = ids_of(&search, "_id", "Practitioner");
    let (doctors, next) = doctor_page(&state, &caller, &search, None, only.as_deref()).await?;
    let items = doctors
        .iter()
        .map(|d| (d.id.to_string(), practitioner(d)))
        .collect();
    Ok(fhir_json(
        StatusCode::OK,
        &searchset(&search, "Practitioner", items, next)?,
    ))
}

fn patient(p: &crate::domain::person::Patient) -> Patient {
    let mut telecom = vec![ContactPoint {
        system: Some("phone".into()),
        value: Some(p.phone.clone()),
    }];
    if let Some(email) = &p.email {
        telecom.push(ContactPoint {
            system: Some("email".into()),
            value: Some(email.clone()),
        });
    }
    Patient {
        resource_type: "Patient",
        id: p.id.to_string(),
        meta: Meta {
            version_id: None,
            last_updated: Some(instant(p.updated_at)),
        },
        active: true,
        name: vec![HumanName {
            use_: Some("official".into()),
            text: Some(format!("{} {}", p.first_name, p.last_name)),
            family: Some(p.last_name.clone()),
            given: vec![p.first_name.clone()],
            prefix: Vec::new(),
        }],
        telecom,
        birth_date: p.date_of_birth.to_string(),
    }
}

pub async fn read_patient(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    _search: Search,
    Path(id): Path<String>,
) -> FhirResult {
    if !caller.is_logged_in() {
        return Err(crate::usecases::Error::Unauthenticated.into());
    }
    let n = number(&id, "Patient")?;
    let p = patients::read(&state.clinic, &caller, PatientId::new(n))
        .await
        .map_err(|e| match e {
            crate::usecases::Error::NotFound(_) | crate::usecases::Error::Forbidden(_) => {
                FhirError::not_found(&format!("Patient/{id}"))
            }
            other => other.into(),
        })?;
    Ok(fhir_json(StatusCode::OK, &patient(&p)))
}

/// Patients by `_id` (those the caller may see); a patient without `_id`
/// finds themselves.
pub async fn search_patients(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
) -> FhirResult {
    search.only(&["_id"])?;
    if !caller.is_logged_in() {
        return Err(crate::usecases::Error::Unauthenticated.into());
    }
    let ids: Vec<i64> = match (search.all("_id"), caller.patient_id()) {
        (wanted, _) if !wanted.is_empty() => wanted
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|v| v.trim().parse().ok())
            .collect(),
        (_, Some(own)) => vec![own.get()],
        (_, None) => {
            return Err(FhirError::bad_request(
                "Search patients by `_id` (staff), or with no parameter as a patient.",
            ));
        }
    };
    let mut items = Vec::new();
    for id in ids.into_iter().take(200) {
        match patients::read(&state.clinic, &caller, PatientId::new(id)).await {
            Ok(p) => items.push((p.id.to_string(), patient(&p))),
            Err(crate::usecases::Error::NotFound(_) | crate::usecases::Error::Forbidden(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(fhir_json(
        StatusCode::OK,
        &searchset(&search, "Patient", items, None)?,
    ))
}

fn schedule_of(state: &AppState, d: &Doctor) -> Schedule {
    let now = state.clinic.now();
    let horizon = now
        .checked_add(state.clinic.settings().horizon())
        .unwrap_or(now);
    Schedule {
        resource_type: "Schedule",
        id: d.id.to_string(),
        meta: Meta {
            version_id: None,
            last_updated: Some(instant(d.updated_at)),
        },
        active: d.active,
        specialty: vec![CodeableConcept::text(d.specialty.clone())],
        actor: vec![Reference::to(
            format!("Practitioner/{}", d.id),
            Some(format!("Dr. {}", d.full_name())),
        )],
        planning_horizon: Period {
            start: Some(instant(now)),
            end: Some(instant(horizon)),
        },
        comment: Some(format!(
            "Video visits of {} minutes, in the time zone {}.",
            d.visit_minutes, d.timezone
        )),
    }
}

pub async fn read_schedule(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    _search: Search,
    Path(id): Path<String>,
) -> FhirResult {
    let n = number(&id, "Schedule")?;
    let d = doctors::visible(&state.clinic, &caller, DoctorId::new(n))
        .await
        .map_err(|_| FhirError::not_found(&format!("Schedule/{id}")))?;
    Ok(fhir_json(StatusCode::OK, &schedule_of(&state, &d)))
}

pub async fn search_schedules(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
) -> FhirResult {
    search.only(&["_id", "actor", "specialty"])?;
    let specialty = search.one("specialty").map(|s| {
        // A token `system|code` or a bare code: the clinic's specialties are text.
        s.rsplit('|').next().unwrap_or(s).to_owned()
    });
    // `_id` and `actor` (both doctor ids here): a schedule must match each given.
    let only = match (
        ids_of(&search, "_id", "Schedule"),
        ids_of(&search, "actor", "Practitioner"),
    ) {
        (Some(ids), Some(actors)) => Some(ids.into_iter().filter(|i| actors.contains(i)).collect()),
        (ids, actors) => ids.or(actors),
    };
    let (doctors, next) = doctor_page(&state, &caller, &search, specialty, only.as_deref()).await?;
    let items = doctors
        .iter()
        .map(|d| (d.id.to_string(), schedule_of(&state, d)))
        .collect();
    Ok(fhir_json(
        StatusCode::OK,
        &searchset(&search, "Schedule", items, next)?,
    ))
}

/// A slot's id: the doctor and the start's Unix second.
pub(super) fn slot_id(doctor: DoctorId, start: Timestamp) -> String {
    format!("{doctor}-{}", start.as_second())
}

/// The doctor and start of a slot (or proposal) id.
pub(super) fn parse_slot_id(id: &str) -> Option<(DoctorId, Timestamp)> {
    let (doctor, start) = id.split_once('-')?;
    let doctor = doctor.parse::<i64>().ok().filter(|d| *d > 0)?;
    let start = Timestamp::from_second(start.parse::<i64>().ok()?).ok()?;
    Some((DoctorId::new(doctor), start))
}

fn slot(doctor: DoctorId, p: SlotPeriod, free: bool) -> Slot {
    Slot {
        resource_type: "Slot",
        id: slot_id(doctor, p.start),
        schedule: Reference::to(format!("Schedule/{doctor}"), None),
        status: if free { "free" } else { "busy" },
        start: instant(p.start),
        end: instant(p.end),
    }
}

pub async fn read_slot(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    _search: Search,
    Path(id): Path<String>,
) -> FhirResult {
    let missing = || FhirError::not_found(&format!("Slot/{id}"));
    let (doctor, start) = parse_slot_id(&id).ok_or_else(missing)?;
    let to = start
        .checked_add(SignedDuration::from_secs(1))
        .map_err(|_| missing())?;
    let found = schedule::slots_with_status(&state.clinic, &caller, doctor, start, to)
        .await
        .map_err(|e| match e {
            crate::usecases::Error::NotFound(_) | crate::usecases::Error::Invalid(_) => missing(),
            other => other.into(),
        })?;
    let (p, free) = found
        .into_iter()
        .find(|(p, _)| p.start == start)
        .ok_or_else(missing)?;
    Ok(fhir_json(StatusCode::OK, &slot(doctor, p, free)))
}

/// A `date`-type search parameter's bounds: `[from, to)`.
pub(super) fn date_bounds(
    values: &[&str],
    name: &str,
) -> FhirResult<(Option<Timestamp>, Option<Timestamp>)> {
    let (mut from, mut to): (Option<Timestamp>, Option<Timestamp>) = (None, None);
    let bad = |v: &str| {
        FhirError::bad_request(format!(
            "`{name}={v}` is not a date search: use ge, gt, le, lt or eq and an instant (2027-01-15T09:00:00Z) or a date."
        ))
    };
    for v in values {
        let (prefix, value) = match v.get(..2) {
            Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &v[2..]),
            _ => ("eq", *v),
        };
        let at = parse_instant(value).ok_or_else(|| bad(v))?;
        let is_day = value.len() == 10;
        let next = |t: Timestamp| {
            t.checked_add(SignedDuration::from_secs(if is_day { 86_400 } else { 1 }))
                .map_err(|_| bad(v))
        };
        match prefix {
            "ge" => from = Some(from.map_or(at, |f| f.max(at))),
            "gt" => {
                let n = next(at)?;
                from = Some(from.map_or(n, |f| f.max(n)));
            }
            "lt" => to = Some(to.map_or(at, |t| t.min(at))),
            "le" => {
                let n = next(at)?;
                to = Some(to.map_or(n, |t| t.min(n)));
            }
            _ => {
                let n = next(at)?;
                from = Some(from.map_or(at, |f| f.max(at)));
                to = Some(to.map_or(n, |t| t.min(n)));
            }
        }
    }
    Ok((from, to))
}

/// Slots of one schedule: `schedule` (required), `start` (ge/gt/le/lt/eq;
/// default: from now, two weeks), `status` (free or busy).
pub async fn search_slots(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    search: Search,
) -> FhirResult {
    search.only(&["schedule", "start", "status"])?;
    let schedule_ref = search
        .one("schedule")
        .ok_or_else(|| FhirError::bad_request("Slot search needs `schedule` (Schedule/<id>)."))?;
    let doctor = reference_id(schedule_ref, "Schedule")
        .and_then(|i| i.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map(DoctorId::new)
        .ok_or_else(|| FhirError::bad_request("`schedule` must be Schedule/<id>."))?;
    let statuses: Vec<&str> = search
        .all("status")
        .iter()
        .flat_map(|s| s.split(','))
        .collect();
    if let Some(bad) = statuses.iter().find(|s| !matches!(**s, "free" | "busy")) {
        return Err(FhirError::bad_request(format!(
            "`status={bad}`: slots here are free or busy."
        )));
    }
    let (from, to) = date_bounds(&search.all("start"), "start")?;
    let now = state.clinic.now();
    let mut from = from.unwrap_or(now).max(now);
    if let Some(c) = search.one("_cursor") {
        let after = c
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s + 1).ok())
            .ok_or_else(|| FhirError::bad_request("`_cursor` is not one of ours."))?;
        from = from.max(after);
    }
    let to = match to {
        Some(t) => t,
        None => from
            .checked_add(schedule::DEFAULT_SLOT_WINDOW)
            .map_err(|_| FhirError::bad_request("`start` is too far in the future."))?,
    };
    let count = usize::try_from(search.count()?).unwrap_or(50);
    let found = if to <= from {
        Vec::new()
    } else {
        schedule::slots_with_status(&state.clinic, &caller, doctor, from, to)
            .await
            .map_err(|e| match e {
                crate::usecases::Error::NotFound(_) => FhirError::not_found(schedule_ref),
                crate::usecases::Error::Invalid(_) => {
                    FhirError::bad_request("A slot search spans at most 62 days: narrow `start`.")
                }
                other => other.into(),
            })?
    };
    let mut matching: Vec<(SlotPeriod, bool)> = found
        .into_iter()
        .filter(|(_, free)| {
            statuses.is_empty() || statuses.contains(&if *free { "free" } else { "busy" })
        })
        .collect();
    let next = if matching.len() > count {
        matching.truncate(count);
        matching
            .last()
            .map(|(p, _)| p.start.as_second().to_string())
    } else {
        None
    };
    let items = matching
        .into_iter()
        .map(|(p, free)| (slot_id(doctor, p.start), slot(doctor, p, free)))
        .collect();
    Ok(fhir_json(
        StatusCode::OK,
        &searchset(&search, "Slot", items, next)?,
    ))
}
