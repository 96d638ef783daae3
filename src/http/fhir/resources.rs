//! The few FHIR R4 (4.0.1) resources and data types medimeet speaks, as
//! hand-written serde structs (no maintained Rust crate covers R4; decision
//! 0015). Only the elements we fill or read are here; empty ones are left
//! out of the JSON, as FHIR requires (no empty arrays, no nulls).

use serde::{Deserialize, Serialize};
use serde_json::Value;

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    pub fn to(reference: String, display: Option<String>) -> Self {
        Self {
            reference: Some(reference),
            display,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeableConcept {
    #[serde(default, skip_serializing_if = "is_empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            coding: Vec::new(),
            text: Some(text.into()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HumanName {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub given: Vec<String>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub prefix: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactPoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Period {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Qualification {
    pub code: CodeableConcept,
}

/// A doctor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Practitioner {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Meta,
    pub active: bool,
    pub name: Vec<HumanName>,
    /// The specialty, as the practitioner's qualification (text: the
    /// clinic's own words, no code system).
    pub qualification: Vec<Qualification>,
}

/// A patient.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Meta,
    pub active: bool,
    pub name: Vec<HumanName>,
    #[serde(skip_serializing_if = "is_empty")]
    pub telecom: Vec<ContactPoint>,
    pub birth_date: String,
}

/// One doctor's bookable time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Meta,
    pub active: bool,
    pub specialty: Vec<CodeableConcept>,
    pub actor: Vec<Reference>,
    pub planning_horizon: Period,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One slot of a schedule, computed from the hours (never stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    pub resource_type: &'static str,
    pub id: String,
    pub schedule: Reference,
    /// `free` or `busy`.
    pub status: &'static str,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(default, rename = "type", skip_serializing_if = "is_empty")]
    pub type_: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<String>,
    /// `accepted`, `declined`, `tentative` or `needs-action` (required).
    #[serde(default)]
    pub status: String,
}

/// A visit (also a `$find` proposal or a `$hold`). Read from clients as
/// well, so every element is optional on the way in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    #[serde(default = "appointment_type")]
    pub resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default)]
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelation_reason: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub specialty: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes_duration: Option<i64>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub slot: Vec<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub participant: Vec<Participant>,
}

fn appointment_type() -> String {
    "Appointment".into()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleLink {
    pub relation: &'static str,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleSearch {
    pub mode: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    pub full_url: String,
    pub resource: Value,
    pub search: BundleSearch,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub resource_type: &'static str,
    #[serde(rename = "type")]
    pub type_: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    pub link: Vec<BundleLink>,
    #[serde(skip_serializing_if = "is_empty")]
    pub entry: Vec<BundleEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// `fatal`, `error`, `warning` or `information`.
    pub severity: &'static str,
    /// The IssueType code: `not-found`, `conflict`, `invalid`, ...
    pub code: &'static str,
    pub diagnostics: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub expression: Vec<String>,
}

/// What went wrong (every error of the FHIR face).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcome {
    pub resource_type: &'static str,
    pub issue: Vec<Issue>,
}

/// One parameter of an operation's input (`Parameters.parameter`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    #[serde(default)]
    pub name: String,
    pub value_string: Option<String>,
    pub value_date_time: Option<String>,
    pub value_instant: Option<String>,
    pub value_reference: Option<Reference>,
    pub value_coding: Option<Coding>,
    pub value_codeable_concept: Option<CodeableConcept>,
    pub value_token: Option<String>,
    pub value_integer: Option<i64>,
    pub value_positive_int: Option<i64>,
    pub resource: Option<Value>,
}

/// An operation's input.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameters {
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub parameter: Vec<Parameter>,
}

impl Parameter {
    /// The parameter's value as text, whatever its type.
    pub fn text(&self) -> Option<String> {
        self.value_string
            .clone()
            .or_else(|| self.value_date_time.clone())
            .or_else(|| self.value_instant.clone())
            .or_else(|| self.value_token.clone())
            .or_else(|| {
                self.value_reference
                    .as_ref()
                    .and_then(|r| r.reference.clone())
            })
            .or_else(|| {
                self.value_coding
                    .as_ref()
                    .and_then(|c| c.code.clone().or(c.display.clone()))
            })
            .or_else(|| {
                self.value_codeable_concept.as_ref().and_then(|c| {
                    c.text
                        .clone()
                        .or_else(|| c.coding.first().and_then(|c| c.code.clone()))
                })
            })
            .or_else(|| {
                self.value_integer
                    .or(self.value_positive_int)
                    .map(|n| n.to_string())
            })
    }
}
