//! One entry of the audit log: who changed or read which record, when.

use super::ids::AccountId;
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: Timestamp,
    /// The account that acted; `None` for the system or an anonymous sign-up.
    pub actor_account_id: Option<AccountId>,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    pub detail: Option<String>,
}
