//! The clinic's operations on both backends, without HTTP: the same rules
//! the API and pages tests drive, called directly with each kind of caller.

use super::*;
use crate::clock::Clock;
use crate::domain::ids::{AccountId, DoctorId, PatientId};
use crate::store::test_db::{self, Backend, Guard};
use std::sync::Arc;

/// A clinic on a fresh database of the backend (removed with the guard).
async fn clinic_on(backend: Backend) -> (Clinic, Guard) {
    let (store, guard) = test_db::fresh(backend).await;
    (
        Clinic::new(store, Clock::default(), Arc::new(Default::default())).unwrap(),
        guard,
    )
}

struct People {
    admin: Caller,
    doctor: Caller,
    other_doctor: Caller,
    patient: Caller,
    other_patient: Caller,
    doctor_id: DoctorId,
}

async fn patient(clinic: &Clinic, phone: &str) -> Caller {
    let p = patients::register(
        clinic,
        &patients::Registration {
            first_name: "Pat".into(),
            last_name: "Ient".into(),
            phone: phone.into(),
            password: "correct horse battery".into(),
            date_of_birth: "1980-02-03".into(),
            email: None,
        },
    )
    .await
    .expect("register");
    Caller::Patient {
        account: p.account_id,
        patient: p.id,
    }
}

async fn onboard(clinic: &Clinic, admin: &Caller, email: &str) -> (Caller, DoctorId) {
    let d = doctors::onboard(
        clinic,
        admin,
        &doctors::NewDoctorForm {
            email: email.into(),
            password: "doctor password 1".into(),
            first_name: "Doc".into(),
            last_name: "Tor".into(),
            specialty: "Cardiology".into(),
            experience_years: 10,
            timezone: "UTC".into(),
            visit_minutes: Some(30),
            fee: "50.00".into(),
        },
    )
    .await
    .expect("onboard");
    // Open around the clock, every day, so a slot is always bookable.
    let all_week = schedule::WEEKDAYS
        .iter()
        .map(|w| schedule::HoursInterval {
            weekday: (*w).to_owned(),
            start: "00:00".into(),
            end: "24:00".into(),
        })
        .collect();
    schedule::set_hours(
        clinic,
        admin,
        d.id,
        &schedule::Hours {
            visit_minutes: 30,
            buffer_minutes: 0,
            weekly: all_week,
            overrides: Vec::new(),
        },
        &schedule::OnAffected::default(),
    )
    .await
    .expect("hours");
    (
        Caller::Doctor {
            account: d.account_id,
            doctor: d.id,
        },
        d.id,
    )
}

async fn people(clinic: &Clinic) -> People {
    let admin = Caller::Admin {
        account: clinic
            .store
            .create_admin("admin@example.org", "x", clinic.now().as_second())
            .await
            .expect("admin"),
    };
    let (doctor, doctor_id) = onboard(clinic, &admin, "doc1@example.org").await;
    let (other_doctor, _) = onboard(clinic, &admin, "doc2@example.org").await;
    People {
        patient: patient(clinic, "+12025550171").await,
        other_patient: patient(clinic, "+12025550172").await,
        admin,
        doctor,
        other_doctor,
        doctor_id,
    }
}

/// A free slot of the doctor two days ahead (outside the cancellation window).
async fn a_slot(clinic: &Clinic, doctor: DoctorId) -> jiff::Timestamp {
    let from = clinic.now() + jiff::SignedDuration::from_hours(48);
    let slots = schedule::free_slots(clinic, &Caller::Anonymous, doctor, Some(from), None)
        .await
        .expect("slots");
    slots.first().expect("a free slot").start
}

async fn the_caller_matrix_decides_who_sees_and_changes_a_visit(clinic: Clinic) {
    let p = people(&clinic).await;
    let start = a_slot(&clinic, p.doctor_id).await;
    let booking = appointments::Booking {
        doctor_id: p.doctor_id,
        start,
        reason: Some("check-up".into()),
        idempotency_key: None,
    };
    // Only patients book.
    for staff in [&p.doctor, &p.admin, &Caller::System] {
        assert!(matches!(
            appointments::book(&clinic, staff, &booking).await,
            Err(Error::Forbidden(_))
        ));
    }
    let visit = appointments::book(&clinic, &p.patient, &booking)
        .await
        .expect("book");
    // The same slot again: taken.
    let again = appointments::book(&clinic, &p.other_patient, &booking).await;
    assert_eq!(again.err(), Some(Error::Conflict(Conflict::SlotTaken)));
    // Its patient, its doctor, admins and the system see it; nobody else does,
    // and for them it does not exist.
    for who in [&p.patient, &p.doctor, &p.admin, &Caller::System] {
        assert_eq!(
            appointments::read(&clinic, who, visit.id)
                .await
                .map(|a| a.id)
                .ok(),
            Some(visit.id),
            "{who:?}"
        );
    }
    for who in [&p.other_patient, &p.other_doctor, &Caller::Anonymous] {
        assert_eq!(
            appointments::read(&clinic, who, visit.id).await.err(),
            Some(Error::NotFound(Thing::Appointment)),
            "{who:?}"
        );
        assert_eq!(
            appointments::cancel(&clinic, who, visit.id, None)
                .await
                .err(),
            Some(Error::NotFound(Thing::Appointment)),
            "{who:?}"
        );
    }
    // Lists hold only what is the caller's.
    let list = |who: Caller| {
        let clinic = clinic.clone();
        async move {
            appointments::list(&clinic, &who, &appointments::AppointmentQuery::default())
                .await
                .expect("list")
                .items
                .len()
        }
    };
    assert_eq!(list(p.patient).await, 1);
    assert_eq!(list(p.doctor).await, 1);
    assert_eq!(list(p.admin).await, 1);
    assert_eq!(list(p.other_patient).await, 0);
    assert_eq!(list(p.other_doctor).await, 0);
    assert_eq!(
        appointments::list(&clinic, &Caller::Anonymous, &Default::default())
            .await
            .err(),
        Some(Error::Unauthenticated)
    );
    // A patient cannot run the visit; the doctor cannot before it starts.
    assert!(matches!(
        appointments::complete(&clinic, &p.patient, visit.id).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        appointments::complete(&clinic, &p.doctor, visit.id).await,
        Err(Error::Conflict(Conflict::VisitNotStarted(_)))
    ));
    // The patient cancels in time; a second cancel is refused and changes nothing.
    let cancelled = appointments::cancel(&clinic, &p.patient, visit.id, Some("away"))
        .await
        .expect("cancel");
    assert_eq!(
        cancelled.status,
        crate::domain::appointment::Status::Cancelled
    );
    assert!(matches!(
        appointments::cancel(&clinic, &p.patient, visit.id, None).await,
        Err(Error::Conflict(Conflict::InvalidTransition(_)))
    ));
    // Patients' profiles follow the same matrix: the doctor who treated them sees it.
    let Caller::Patient { patient: pid, .. } = p.patient else {
        unreachable!("a patient")
    };
    assert!(patients::read(&clinic, &p.doctor, pid).await.is_ok());
    assert_eq!(
        patients::read(&clinic, &p.other_doctor, pid).await.err(),
        Some(Error::NotFound(Thing::Patient))
    );
    assert!(matches!(
        patients::update(&clinic, &p.doctor, pid, &Default::default()).await,
        Err(Error::Forbidden(_))
    ));
}

async fn a_repeated_idempotent_booking_returns_the_first_and_a_changed_one_is_refused(
    clinic: Clinic,
) {
    let p = people(&clinic).await;
    let start = a_slot(&clinic, p.doctor_id).await;
    let mut booking = appointments::Booking {
        doctor_id: p.doctor_id,
        start,
        reason: None,
        idempotency_key: Some("key-1".into()),
    };
    let first = appointments::book(&clinic, &p.patient, &booking)
        .await
        .expect("book");
    let again = appointments::book(&clinic, &p.patient, &booking)
        .await
        .expect("replay");
    assert_eq!(again.id, first.id);
    booking.reason = Some("something else".into());
    assert_eq!(
        appointments::book(&clinic, &p.patient, &booking)
            .await
            .err(),
        Some(Error::Refused(Refusal::IdempotencyKeyReused))
    );
    // Only one visit exists.
    let all = appointments::list(&clinic, &p.admin, &Default::default())
        .await
        .expect("list");
    assert_eq!(all.items.len(), 1);
}

async fn racing_retries_with_one_idempotency_key_make_one_visit(clinic: Clinic) {
    let p = people(&clinic).await;
    let start = a_slot(&clinic, p.doctor_id).await;
    let booking = appointments::Booking {
        doctor_id: p.doctor_id,
        start,
        reason: None,
        idempotency_key: Some("retry-storm".into()),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (clinic, caller, booking) = (clinic.clone(), p.patient, booking.clone());
        tasks.spawn(async move { appointments::book(&clinic, &caller, &booking).await });
    }
    let mut ids = Vec::new();
    while let Some(done) = tasks.join_next().await {
        ids.push(
            done.expect("task")
                .expect("every retry gets the booking")
                .id,
        );
    }
    ids.dedup();
    assert_eq!(
        ids.len(),
        1,
        "retries answered with different visits: {ids:?}"
    );
    let all = appointments::list(&clinic, &p.admin, &Default::default())
        .await
        .expect("list");
    assert_eq!(all.items.len(), 1);
}

async fn login_reserves_attempts_so_a_crowd_of_guesses_gets_at_most_five(clinic: Clinic) {
    let p = people(&clinic).await;
    let _ = p;
    let creds = |password: &str| sessions::Credentials {
        login: sessions::Login::Phone("+12025550171".into()),
        password: password.into(),
        client: "203.0.113.9".into(),
        device: None,
        second_factor: None,
        replaces: None,
    };
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let clinic = clinic.clone();
        let c = creds("wrong password!!");
        tasks.push(tokio::spawn(
            async move { sessions::log_in(&clinic, c).await },
        ));
    }
    let (mut wrong, mut locked) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Err(Error::BadCredentials) => wrong += 1,
            Err(Error::TooManyAttempts { .. }) => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(wrong <= 5, "{wrong} guesses were evaluated");
    assert_eq!(wrong + locked, 40);
    // The right password is locked out too.
    assert!(matches!(
        sessions::log_in(&clinic, creds("correct horse battery")).await,
        Err(Error::TooManyAttempts { .. })
    ));
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (clinic, _guard) = super::clinic_on(super::Backend::Sqlite).await;
                    super::$name(clinic).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (clinic, _guard) = super::clinic_on(super::Backend::Postgres).await;
                    super::$name(clinic).await
                }
            )*
        }
    };
}

on_both_backends!(
    the_caller_matrix_decides_who_sees_and_changes_a_visit,
    a_repeated_idempotent_booking_returns_the_first_and_a_changed_one_is_refused,
    login_reserves_attempts_so_a_crowd_of_guesses_gets_at_most_five,
    racing_retries_with_one_idempotency_key_make_one_visit,
);

#[test]
fn ids_are_not_interchangeable_in_callers() {
    let c = Caller::Patient {
        account: AccountId::new(1),
        patient: PatientId::new(1),
    };
    assert!(c.is_patient(PatientId::new(1)));
    assert!(!c.is_doctor(DoctorId::new(1)));
}
