//! Patients: registration and profiles.

use super::{Caller, Clinic, Error, Result, Thing};
use crate::domain::ids::PatientId;
use crate::domain::person::Patient;
use crate::domain::person::{DateOfBirth, Email, Errors, Name, Password, Phone};
use crate::store::{NewPatient, PatientPatch};
use jiff::civil::Date;

/// A sign-up as the person typed it.
#[derive(Clone, Default)]
pub struct Registration {
    pub first_name: String,
    pub last_name: String,
    /// The login; E.164, or national in the clinic's region.
    pub phone: String,
    pub password: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub email: Option<String>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration").finish_non_exhaustive()
    }
}

/// Today in UTC: what ages and birth dates are measured against.
pub fn today(clinic: &Clinic) -> Date {
    clinic
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
}

/// A sign-up whose every field is valid.
pub(super) struct Valid {
    pub first: Name,
    pub last: Name,
    pub phone: Phone,
    pub password: Password,
    pub dob: DateOfBirth,
    pub email: Option<Email>,
}

/// Validates every field of a sign-up, all mistakes reported at once, per
/// field.
pub(super) fn validate(clinic: &Clinic, req: &Registration) -> Result<Valid> {
    let today = today(clinic);
    let mut errs = Errors::default();
    let first = errs.check(Name::parse("first_name", &req.first_name));
    let last = errs.check(Name::parse("last_name", &req.last_name));
    let phone = errs.check(Phone::parse(&req.phone, clinic.settings().phone_region));
    let password = errs.check(Password::parse("password", &req.password));
    let dob = errs.check(DateOfBirth::parse(&req.date_of_birth, today));
    let email = match req.email.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(e) => errs.check(Email::parse("email", e)).map(Some),
    };
    let (Some(first), Some(last), Some(phone), Some(password), Some(dob), Some(email)) =
        (first, last, phone, password, dob, email)
    else {
        return Err(Error::Invalid(errs.0));
    };
    Ok(Valid {
        first,
        last,
        phone,
        password,
        dob,
        email,
    })
}

/// Validates every field (all mistakes reported at once, per field) and
/// creates the patient with their login at once (the sign-up of a clinic
/// that sends no text messages; see [`super::signup`]).
pub async fn register(clinic: &Clinic, req: &Registration) -> Result<Patient> {
    let Valid {
        first,
        last,
        phone,
        password,
        dob,
        email,
    } = validate(clinic, req)?;
    let hash = super::password_hash(&password).await?;
    let row = clinic
        .store
        .create_patient(
            NewPatient {
                phone: phone.as_str(),
                password_hash: &hash,
                first_name: first.as_str(),
                last_name: last.as_str(),
                email: email.as_ref().map(Email::as_str),
                date_of_birth: dob.date(),
            },
            clinic.now().as_second(),
        )
        .await?;
    tracing::info!(patient_id = %row.id, "patient registered");
    Ok(row)
}

/// Loads a patient the caller may see: themselves, any for an admin, and for
/// a doctor only patients with a visit with them. Anything else is `NotFound`.
async fn visible(clinic: &Clinic, caller: &Caller, id: PatientId) -> Result<Patient> {
    let treats = match caller.doctor_id() {
        Some(d) => clinic.store.doctor_has_patient(d, id).await?,
        None => false,
    };
    if !caller.may_see_patient(id, treats) {
        super::security::refused(caller, "patient", id.get());
        return Err(Error::NotFound(Thing::Patient));
    }
    clinic
        .store
        .get_patient(id)
        .await?
        .ok_or(Error::NotFound(Thing::Patient))
}

/// A patient's profile; reads by staff are audited.
pub async fn read(clinic: &Clinic, caller: &Caller, id: PatientId) -> Result<Patient> {
    let row = visible(clinic, caller, id).await?;
    if caller.reads_are_audited()
        && let Some(account) = caller.account()
    {
        clinic
            .store
            .audit_read(account, "patient", id.get(), clinic.now().as_second())
            .await?;
    }
    Ok(row)
}

/// The caller's own profile, if they are a patient (no audit: it is theirs).
pub async fn own(clinic: &Clinic, caller: &Caller) -> Result<Option<Patient>> {
    match caller.patient_id() {
        Some(id) => Ok(clinic.store.get_patient(id).await?),
        None => Ok(None),
    }
}

/// Changes to a profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// An address, or an empty string to remove it.
    pub email: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// Whether the clinic's email reaches the patient.
    pub notify_email: Option<bool>,
    /// Whether the clinic's text messages reach the patient.
    pub notify_sms: Option<bool>,
}

/// Changes a patient's profile (the patient or an admin; a doctor who can
/// see the patient is `Forbidden`).
pub async fn update(
    clinic: &Clinic,
    caller: &Caller,
    id: PatientId,
    req: &ProfileChanges,
) -> Result<Patient> {
    visible(clinic, caller, id).await?;
    if !caller.may_edit_patient(id) {
        return Err(Error::Forbidden(
            "Doctors cannot change a patient's profile.",
        ));
    }
    let mut errs = Errors::default();
    let mut patch = PatientPatch::default();
    if let Some(f) = &req.first_name {
        patch.first_name = errs
            .check(Name::parse("first_name", f))
            .map(Name::into_string);
    }
    if let Some(l) = &req.last_name {
        patch.last_name = errs
            .check(Name::parse("last_name", l))
            .map(Name::into_string);
    }
    if let Some(e) = &req.email {
        patch.email = if e.trim().is_empty() {
            Some(None)
        } else {
            errs.check(Email::parse("email", e))
                .map(|e| Some(e.as_str().to_owned()))
        };
    }
    if let Some(d) = &req.date_of_birth {
        patch.date_of_birth = errs
            .check(DateOfBirth::parse(d, today(clinic)))
            .map(DateOfBirth::date);
    }
    patch.notify_email = req.notify_email;
    patch.notify_sms = req.notify_sms;
    if !errs.is_empty() {
        return Err(Error::Invalid(errs.0));
    }
    clinic
        .store
        .update_patient(id, &patch, caller.account(), clinic.now().as_second())
        .await?
        .ok_or(Error::NotFound(Thing::Patient))
}

/// The patient whose login is this phone number (admins' filters); `None` if
/// it is no patient's, `Invalid` if it is no phone number.
pub async fn find_by_phone(
    clinic: &Clinic,
    caller: &Caller,
    phone: &str,
) -> Result<Option<PatientId>> {
    super::doctors::require_admin(caller)?;
    let phone =
        Phone::parse(phone, clinic.settings().phone_region).map_err(|e| Error::Invalid(vec![e]))?;
    Ok(clinic.store.patient_id_by_phone(phone.as_str()).await?)
}
