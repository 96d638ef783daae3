//! Patients' own data (decision 0020): everything the clinic holds about the
//! calling patient, for them to download, and closing their account.
//!
//! Both are the patient's alone: no one else (a doctor, an admin) exports a
//! patient or closes their account here. The export is gathered from rows
//! keyed by the patient or their own account (see
//! [`crate::store::Store::visit_changes_of`] and its siblings), never from a
//! doctor's schedule, so another patient of the same doctor cannot appear in it.

use super::sessions::{self, Session, SessionInfo};
use super::{Caller, Clinic, Error, Result, Thing};
use crate::domain::appointment::Appointment;
use crate::domain::ids::{AccountId, AppointmentId, DoctorId, PatientId};
use crate::domain::patient_data::{RecordRead, SentToPatient, VisitChange, VisitChat};
use crate::domain::person::Patient;
use crate::store::AppointmentFilter;
use jiff::Timestamp;

/// Why a visit cancelled by a closure was cancelled (its doctor reads it).
pub const CLOSURE_REASON: &str = "The patient closed their account.";

/// One of the patient's visits with its note (if the doctor wrote one: the
/// patient reads every note of their visits, as on the visit's page).
#[derive(Debug, Clone)]
pub struct ExportedVisit {
    pub appointment: Appointment,
    pub doctor_specialty: Option<String>,
    pub note: Option<super::visits::VisitNote>,
}

/// Everything the clinic holds about one patient.
#[derive(Debug, Clone)]
pub struct PatientExport {
    pub generated_at: Timestamp,
    pub profile: Patient,
    pub login: String,
    /// Oldest first.
    pub visits: Vec<ExportedVisit>,
    /// Every change of those visits (booked, moved, cancelled, status, note), oldest first.
    pub changes: Vec<VisitChange>,
    pub chat: Vec<VisitChat>,
    /// Email and text messages addressed to the patient.
    pub notifications: Vec<SentToPatient>,
    /// Whether the patient has a calendar subscription URL, and how many
    /// times they replaced it (the URL itself is a secret, not exported).
    pub calendar_feed: bool,
    pub calendar_rotations: i64,
    /// The account's live sessions.
    pub sessions: Vec<SessionInfo>,
    /// Who read the patient's records, and when.
    pub reads: Vec<RecordRead>,
}

fn own_patient(caller: &Caller) -> Result<(AccountId, PatientId)> {
    match *caller {
        Caller::Patient { account, patient } => Ok((account, patient)),
        Caller::Anonymous => Err(Error::Unauthenticated),
        _ => Err(Error::Forbidden(
            "Only a patient downloads or closes their own account.",
        )),
    }
}

/// Gathers the calling patient's data (audited as an export).
pub async fn export(clinic: &Clinic, session: &Session) -> Result<PatientExport> {
    let (account, patient) = own_patient(&session.caller)?;
    let store = &clinic.store;
    let profile = store
        .get_patient(patient)
        .await?
        .ok_or(Error::NotFound(Thing::Patient))?;
    let appointments = store
        .list_appointments(
            &AppointmentFilter {
                patient_id: Some(patient),
                ..AppointmentFilter::default()
            },
            None,
            i64::MAX,
        )
        .await?;
    let ids: Vec<AppointmentId> = appointments.iter().map(|a| a.id).collect();
    let mut notes = store.notes_of(&ids).await?;
    let mut specialties: Vec<(DoctorId, Option<String>)> = Vec::new();
    let mut visits = Vec::with_capacity(appointments.len());
    for appointment in appointments {
        let specialty = match specialties
            .iter()
            .find(|(d, _)| *d == appointment.doctor_id)
        {
            Some((_, s)) => s.clone(),
            None => {
                let s = store
                    .get_doctor(appointment.doctor_id)
                    .await?
                    .map(|d| d.specialty);
                specialties.push((appointment.doctor_id, s.clone()));
                s
            }
        };
        let note = notes
            .iter()
            .position(|n| n.appointment_id == appointment.id)
            .map(|i| notes.swap_remove(i).into());
        visits.push(ExportedVisit {
            appointment,
            doctor_specialty: specialty,
            note,
        });
    }
    let owner = store.calendar_owner(account).await?;
    let export = PatientExport {
        generated_at: clinic.now(),
        login: session.login.clone(),
        visits,
        changes: store.visit_changes_of(patient).await?,
        chat: store.chat_of_patient(patient).await?,
        notifications: store.deliveries_to(account).await?,
        calendar_feed: owner.as_ref().is_some_and(|o| o.active),
        calendar_rotations: owner.map_or(0, |o| o.generation),
        sessions: sessions::list(clinic, session).await?,
        reads: store.reads_of_patient(patient).await?,
        profile,
    };
    store
        .audit_export(account, patient, clinic.now().as_second())
        .await?;
    tracing::info!(patient_id = %patient, "patient data exported");
    Ok(export)
}

/// What closing an account did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The future visits cancelled (their doctors are told through the
    /// notification outbox, as for any cancellation).
    pub cancelled: Vec<AppointmentId>,
}

/// Closes the calling patient's account, once their password is confirmed
/// (a wrong one is `Invalid` on `password` and changes nothing): the login
/// stops working and every session ends at once; visits booked for later
/// are cancelled, the doctors and the patient told; the calendar feed's
/// URL is retired; and nothing more is sent to the patient. The clinic's
/// record (profile, past visits, notes, chat, payments, audit) stays.
pub async fn close(clinic: &Clinic, session: &Session, password: &str) -> Result<Closed> {
    let (account, patient) = own_patient(&session.caller)?;
    sessions::confirm_password(clinic, session, "password", password).await?;
    let closure = clinic
        .store
        .close_patient(patient, account, CLOSURE_REASON, clinic.now().as_second())
        .await
        .map_err(|e| match e {
            // Closed meanwhile by another of its sessions.
            crate::store::StoreError::NotFound => Error::Unauthenticated,
            e => e.into(),
        })?;
    tracing::info!(
        patient_id = %patient,
        cancelled = closure.cancelled.len(),
        sessions = closure.sessions_ended,
        "patient closed their account"
    );
    Ok(Closed {
        cancelled: closure.cancelled.into_iter().map(|(id, _)| id).collect(),
    })
}
