//! Who is asking: the one model of a caller, and every rule of who may see or
//! act on what.
//!
//! A face (the JSON API, the pages, a worker) builds a [`Caller`] once (from the
//! session, or [`Caller::System`] for background work) and hands it to the use
//! cases, which ask the questions below. Nothing else decides visibility.

use super::ids::{AccountId, DoctorId, PatientId};

/// The role of a login, as stored with the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Patient,
    Doctor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Patient, Role::Doctor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Doctor => "doctor",
            Role::Admin => "admin",
        }
    }

    /// The stored name back; `None` for anything else (never a guess).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The caller of a use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Someone not logged in (registration, login, the public directory).
    Anonymous,
    Patient {
        account: AccountId,
        patient: PatientId,
    },
    Doctor {
        account: AccountId,
        doctor: DoctorId,
    },
    Admin {
        account: AccountId,
    },
    /// The clinic's own background work (reminders, maintenance): acts like
    /// staff, is audited with no account.
    System,
}

impl Caller {
    /// The role of a logged-in person; `None` for anonymous and system callers.
    pub fn role(&self) -> Option<Role> {
        match self {
            Caller::Patient { .. } => Some(Role::Patient),
            Caller::Doctor { .. } => Some(Role::Doctor),
            Caller::Admin { .. } => Some(Role::Admin),
            Caller::Anonymous | Caller::System => None,
        }
    }

    /// The account to write in the audit log (`None`: nobody logged in, or the
    /// system).
    pub fn account(&self) -> Option<AccountId> {
        match *self {
            Caller::Patient { account, .. }
            | Caller::Doctor { account, .. }
            | Caller::Admin { account } => Some(account),
            Caller::Anonymous | Caller::System => None,
        }
    }

    pub fn is_logged_in(&self) -> bool {
        !matches!(self, Caller::Anonymous)
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::Admin { .. })
    }

    /// Doctors, admins and the system: those who run visits rather than attend
    /// them.
    pub fn is_staff(&self) -> bool {
        matches!(
            self,
            Caller::Doctor { .. } | Caller::Admin { .. } | Caller::System
        )
    }

    /// Whether everything is visible to this caller (admins and the system).
    pub fn sees_everything(&self) -> bool {
        matches!(self, Caller::Admin { .. } | Caller::System)
    }

    pub fn patient_id(&self) -> Option<PatientId> {
        match *self {
            Caller::Patient { patient, .. } => Some(patient),
            _ => None,
        }
    }

    pub fn doctor_id(&self) -> Option<DoctorId> {
        match *self {
            Caller::Doctor { doctor, .. } => Some(doctor),
            _ => None,
        }
    }

    /// Whether the caller is this patient.
    pub fn is_patient(&self, id: PatientId) -> bool {
        self.patient_id() == Some(id)
    }

    /// Whether the caller is this doctor.
    pub fn is_doctor(&self, id: DoctorId) -> bool {
        self.doctor_id() == Some(id)
    }

    /// An appointment is visible to its patient, its doctor, and admins.
    pub fn may_see_appointment(&self, doctor: DoctorId, patient: PatientId) -> bool {
        self.sees_everything() || self.is_patient(patient) || self.is_doctor(doctor)
    }

    /// Who the caller is in a visit's video room: its patient or its doctor.
    /// Nobody else enters, admins included: the room, its chat and its note
    /// are the two people's (decision 0011), though an admin sees the
    /// appointment itself.
    pub fn visit_role(&self, doctor: DoctorId, patient: PatientId) -> Option<Role> {
        if self.is_doctor(doctor) {
            Some(Role::Doctor)
        } else if self.is_patient(patient) {
            Some(Role::Patient)
        } else {
            None
        }
    }

    /// A doctor's hours, time off and profile are managed by the doctor and
    /// admins.
    pub fn may_manage_doctor(&self, doctor: DoctorId) -> bool {
        self.sees_everything() || self.is_doctor(doctor)
    }

    /// An inactive doctor is visible only to those who manage them; an active
    /// one to everybody.
    pub fn may_see_doctor(&self, doctor: DoctorId, active: bool) -> bool {
        active || self.may_manage_doctor(doctor)
    }

    /// A patient's profile is visible to the patient, admins, and a doctor who
    /// has (or had) a visit with them (`treats`: the caller is a doctor with a
    /// visit with this patient, which the use case looks up).
    pub fn may_see_patient(&self, patient: PatientId, treats: bool) -> bool {
        self.sees_everything() || self.is_patient(patient) || (self.doctor_id().is_some() && treats)
    }

    /// A patient's profile is changed by the patient and admins, never by a doctor.
    pub fn may_edit_patient(&self, patient: PatientId) -> bool {
        self.sees_everything() || self.is_patient(patient)
    }

    /// Reads of patient data by anyone but the patient are written to the audit
    /// log.
    pub fn reads_are_audited(&self) -> bool {
        !matches!(self, Caller::Patient { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PatientId = PatientId::new(1);
    const OTHER_P: PatientId = PatientId::new(2);
    const D: DoctorId = DoctorId::new(10);
    const OTHER_D: DoctorId = DoctorId::new(11);

    fn patient() -> Caller {
        Caller::Patient {
            account: AccountId::new(100),
            patient: P,
        }
    }

    fn doctor() -> Caller {
        Caller::Doctor {
            account: AccountId::new(200),
            doctor: D,
        }
    }

    fn admin() -> Caller {
        Caller::Admin {
            account: AccountId::new(300),
        }
    }

    #[test]
    fn a_visit_room_is_entered_by_its_two_people_only_admins_excluded() {
        assert_eq!(patient().visit_role(D, P), Some(Role::Patient));
        assert_eq!(doctor().visit_role(D, P), Some(Role::Doctor));
        assert_eq!(patient().visit_role(D, OTHER_P), None);
        assert_eq!(doctor().visit_role(OTHER_D, P), None);
        // Admins see the appointment but never enter its room.
        assert!(admin().may_see_appointment(D, P));
        assert_eq!(admin().visit_role(D, P), None);
        assert_eq!(Caller::System.visit_role(D, P), None);
        assert_eq!(Caller::Anonymous.visit_role(D, P), None);
    }

    #[test]
    fn an_appointment_is_seen_by_its_two_people_and_admins_only() {
        assert!(patient().may_see_appointment(D, P));
        assert!(!patient().may_see_appointment(D, OTHER_P));
        assert!(doctor().may_see_appointment(D, P));
        assert!(!doctor().may_see_appointment(OTHER_D, P));
        assert!(admin().may_see_appointment(OTHER_D, OTHER_P));
        assert!(Caller::System.may_see_appointment(OTHER_D, OTHER_P));
        assert!(!Caller::Anonymous.may_see_appointment(D, P));
    }

    #[test]
    fn doctors_are_managed_by_themselves_and_admins() {
        assert!(doctor().may_manage_doctor(D));
        assert!(!doctor().may_manage_doctor(OTHER_D));
        assert!(admin().may_manage_doctor(OTHER_D));
        assert!(!patient().may_manage_doctor(D));
        assert!(!Caller::Anonymous.may_manage_doctor(D));
        // Inactive doctors are hidden from everyone else.
        assert!(Caller::Anonymous.may_see_doctor(D, true));
        assert!(!Caller::Anonymous.may_see_doctor(D, false));
        assert!(!patient().may_see_doctor(D, false));
        assert!(doctor().may_see_doctor(D, false));
        assert!(admin().may_see_doctor(OTHER_D, false));
    }

    #[test]
    fn patients_are_seen_by_themselves_admins_and_their_doctors() {
        assert!(patient().may_see_patient(P, false));
        assert!(!patient().may_see_patient(OTHER_P, true));
        assert!(doctor().may_see_patient(P, true));
        assert!(!doctor().may_see_patient(P, false));
        assert!(admin().may_see_patient(OTHER_P, false));
        assert!(!Caller::Anonymous.may_see_patient(P, true));
        assert!(patient().may_edit_patient(P));
        assert!(!doctor().may_edit_patient(P));
        assert!(admin().may_edit_patient(P));
    }

    #[test]
    fn roles_round_trip_and_unknown_roles_are_refused() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("superuser"), None);
        assert_eq!(Role::parse(""), None);
        assert_eq!(patient().role(), Some(Role::Patient));
        assert_eq!(Caller::System.role(), None);
        assert!(!patient().reads_are_audited());
        assert!(doctor().reads_are_audited());
    }
}
