//! Schemas that exist for the OpenAPI document only: the closed sets of words
//! the API reads and writes as strings (statuses, roles, weekdays). Wire fields
//! stay `String` and point here with `#[schema(value_type = ...)]`, so a bad
//! weekday is still answered field by field by the use case, while a generated
//! client gets an enum. Tests below keep each list equal to the domain's.

use serde::Serialize;

/// Where a visit is in its life.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    InProgress,
    Completed,
    NoShow,
    Cancelled,
}

/// Whether a visit is paid for.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Unpaid,
    Paid,
    Refunded,
    Waived,
}

/// What an account is.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Patient,
    Doctor,
    Admin,
}

/// A day of the week, in the doctor's time zone.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// What to do with the future booked visits a schedule change affects
/// (decision 0022): keep them booked, or cancel them (with `cancel_reason`,
/// which their patients are sent).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AffectedChoice {
    Keep,
    Cancel,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::appointment;
    use crate::domain::caller;
    use crate::usecases::schedule::WEEKDAYS;
    use utoipa::PartialSchema;

    /// The `enum` values of a schema, as JSON strings.
    fn values<T: PartialSchema>() -> Vec<String> {
        let json = serde_json::to_value(T::schema()).unwrap_or_default();
        json["enum"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn every_list_is_the_domains() {
        let statuses: Vec<_> = appointment::Status::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        assert_eq!(values::<AppointmentStatus>(), statuses);
        let payments: Vec<_> = appointment::PaymentStatus::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        assert_eq!(values::<PaymentStatus>(), payments);
        let roles: Vec<_> = [
            caller::Role::Patient,
            caller::Role::Doctor,
            caller::Role::Admin,
        ]
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
        assert_eq!(values::<Role>(), roles);
        assert_eq!(values::<Weekday>(), WEEKDAYS.map(str::to_owned).to_vec());
    }
}
