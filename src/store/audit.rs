//! The audit log: who changed or read which record, when.

use super::{Result, Store, StoreError, instant, on_read};
use crate::domain::audit::AuditRecord;
use crate::domain::ids::AccountId;

#[derive(sqlx::FromRow)]
struct RawAudit {
    id: i64,
    at: i64,
    actor_account_id: Option<AccountId>,
    action: String,
    entity: String,
    entity_id: i64,
    detail: Option<String>,
}

impl TryFrom<RawAudit> for AuditRecord {
    type Error = StoreError;
    fn try_from(r: RawAudit) -> Result<Self> {
        Ok(Self {
            at: instant(r.at)?,
            id: r.id,
            actor_account_id: r.actor_account_id,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            detail: r.detail,
        })
    }
}

/// Which audit rows to read; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Who acted.
    pub actor: Option<AccountId>,
    pub action: Option<String>,
    /// Which kind of record, and which one.
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    /// From this instant (unix seconds, included) ...
    pub from: Option<i64>,
    /// ... to this one (excluded).
    pub to: Option<i64>,
}

impl Store {
    /// Audit rows matching `f`, newest first, before `before_id`.
    pub async fn list_audit(
        &self,
        f: &AuditFilter,
        before_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        on_read!(self, pool => {
            sqlx::query_as::<_, RawAudit>(
                "SELECT id, at, actor_account_id, action, entity, entity_id, detail FROM audit_log \
                 WHERE id < $1 AND ($2 IS NULL OR entity = $2) AND ($3 IS NULL OR entity_id = $3) \
                 AND ($4 IS NULL OR actor_account_id = $4) AND ($5 IS NULL OR action = $5) \
                 AND ($6 IS NULL OR at >= $6) AND ($7 IS NULL OR at < $7) \
                 ORDER BY id DESC LIMIT $8",
            )
            .bind(before_id)
            .bind(f.entity.as_deref())
            .bind(f.entity_id)
            .bind(f.actor)
            .bind(f.action.as_deref())
            .bind(f.from)
            .bind(f.to)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(AuditRecord::try_from)
            .collect()
        })
    }

    /// The distinct actions in the log (the audit page's choice of actions).
    pub async fn audit_actions(&self) -> Result<Vec<String>> {
        on_read!(self, pool => {
            let rows: Vec<(String,)> =
                sqlx::query_as("SELECT DISTINCT action FROM audit_log ORDER BY action")
                    .fetch_all(pool)
                    .await?;
            Ok(rows.into_iter().map(|(a,)| a).collect())
        })
    }
}
