//! Typed ids: an appointment id cannot be passed where a doctor id belongs.
//!
//! Each is a plain `i64` underneath (the database's key), with no meaning of its
//! own beyond naming one record of one table.

use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(id: i64) -> Self {
                Self(id)
            }

            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    )*};
}

id_type!(
    /// A login: a patient's, a doctor's or an admin's.
    AccountId,
    /// A patient's profile.
    PatientId,
    /// A doctor's profile.
    DoctorId,
    /// One appointment.
    AppointmentId,
    /// One taken slot (the row that holds a doctor's time).
    SlotId,
    /// One stretch of a doctor's time off.
    TimeOffId,
);

impl PatientId {
    /// The patient's stable label shown to staff next to the name
    /// (`P-000123`): two patients whose names look alike never share it.
    pub fn label(self) -> String {
        format!("P-{:06}", self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_labels_are_stable_and_padded() {
        assert_eq!(PatientId::new(123).label(), "P-000123");
        assert_eq!(PatientId::new(1_234_567).label(), "P-1234567");
    }

    #[test]
    fn ids_keep_their_number_and_print_it() {
        let id = AppointmentId::new(42);
        assert_eq!(id.get(), 42);
        assert_eq!(i64::from(id), 42);
        assert_eq!(id.to_string(), "42");
        assert!(DoctorId::new(1) < DoctorId::new(2));
    }
}
