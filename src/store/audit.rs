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

impl Store {
    /// Audit rows, newest first, before `before_id`, optionally of one record.
    pub async fn list_audit(
        &self,
        entity: Option<&str>,
        entity_id: Option<i64>,
        before_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        on_read!(self, pool => {
            sqlx::query_as::<_, RawAudit>(
                "SELECT id, at, actor_account_id, action, entity, entity_id, detail FROM audit_log \
                 WHERE id < $1 AND ($2 IS NULL OR entity = $2) AND ($3 IS NULL OR entity_id = $3) \
                 ORDER BY id DESC LIMIT $4",
            )
            .bind(before_id)
            .bind(entity)
            .bind(entity_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(AuditRecord::try_from)
            .collect()
        })
    }
}
