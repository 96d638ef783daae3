//! The "booked visits are affected" panel (decision 0022): a schedule change
//! (hours, an override, time off, a new time zone, deactivating a doctor)
//! that would strand future booked visits is first refused by the use case
//! with the list of those visits; the page shows them with the two choices,
//! keep them or cancel them with a reason, in a form that sends the same
//! change again with the choice.

use crate::http::pages::fmt;
use crate::usecases::schedule::{Affected, OnAffected};
use crate::usecases::{AffectedVisit, Conflict, Error};
use jiff::civil::Date;
use jiff::tz::TimeZone;

pub struct AffectedLine {
    pub id: i64,
    pub when: String,
    pub patient: String,
}

pub struct HiddenField {
    pub name: String,
    pub value: String,
}

pub struct AffectedPanel {
    /// Where the choice is sent: the change's own address.
    pub action: String,
    pub csrf: String,
    /// The change's own fields, sent again unchanged.
    pub fields: Vec<HiddenField>,
    pub visits: Vec<AffectedLine>,
    /// "These hours", "This time off", ...
    pub what: &'static str,
    pub cancel_reason: String,
    pub error: Option<String>,
}

/// The form fields that carry the choice, never sent again as the change's own.
const CHOICE_FIELDS: [&str; 3] = ["csrf", "affected", "cancel_reason"];

impl AffectedPanel {
    /// The panel for a refused change, if `e` is that refusal. `fields` are
    /// the change's form fields as posted.
    #[allow(clippy::too_many_arguments)]
    pub fn of_error(
        e: &Error,
        action: String,
        csrf: &str,
        fields: &[(String, String)],
        what: &'static str,
        tz: &TimeZone,
        today: Date,
        choice: &PageChoice,
    ) -> Option<Self> {
        let Error::Conflict(Conflict::VisitsAffected(visits)) = e else {
            return None;
        };
        Some(Self {
            action,
            csrf: csrf.to_owned(),
            fields: fields
                .iter()
                .filter(|(k, _)| !CHOICE_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| HiddenField {
                    name: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            visits: visits.iter().map(|v| line(v, tz, today)).collect(),
            what,
            cancel_reason: choice.cancel_reason.clone(),
            error: choice.error.clone(),
        })
    }
}

fn line(v: &AffectedVisit, tz: &TimeZone, today: Date) -> AffectedLine {
    let s = fmt::zoned(v.start, tz);
    AffectedLine {
        id: v.id.get(),
        when: fmt::when(&s, today),
        patient: v.patient_name.clone(),
    }
}

/// The choice read from a form's `affected` and `cancel_reason` fields.
pub struct PageChoice {
    pub on: OnAffected,
    pub cancel_reason: String,
    /// Set when the form asked to cancel without a reason: the change is then
    /// tried without a choice, so it is refused and the panel shown again.
    pub error: Option<String>,
}

impl PageChoice {
    pub fn read(fields: &[(String, String)]) -> Self {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        Self::new(&get("affected"), &get("cancel_reason"))
    }

    pub fn new(affected: &str, cancel_reason: &str) -> Self {
        let cancel_reason = cancel_reason.trim().to_owned();
        match Affected::parse(affected) {
            Some(Affected::Cancel) if cancel_reason.is_empty() => Self {
                on: OnAffected::default(),
                cancel_reason,
                error: Some("Give a reason to cancel the visits: the patients read it.".to_owned()),
            },
            choice => Self {
                on: OnAffected {
                    choice,
                    cancel_reason: Some(cancel_reason.clone()).filter(|r| !r.is_empty()),
                },
                cancel_reason,
                error: None,
            },
        }
    }
}
