//! The audit log: who changed or read which record, when.

use super::{Result, Store, on_read};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor_account_id: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    pub detail: Option<String>,
}

impl Store {
    /// Audit rows, newest first, before `before_id`, optionally of one record.
    pub async fn list_audit(
        &self,
        entity: Option<&str>,
        entity_id: Option<i64>,
        before_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, AuditRow>(
                "SELECT id, at, actor_account_id, action, entity, entity_id, detail FROM audit_log \
                 WHERE id < $1 AND ($2 IS NULL OR entity = $2) AND ($3 IS NULL OR entity_id = $3) \
                 ORDER BY id DESC LIMIT $4",
            )
            .bind(before_id)
            .bind(entity)
            .bind(entity_id)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }
}
