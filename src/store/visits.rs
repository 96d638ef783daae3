//! The video visit's rows (decision 0011): the chat and the note kept with
//! the appointment, who is in the room, and the signaling messages relayed
//! between the sockets of one visit, possibly on different instances
//! ([`super::relay`] delivers them).

use super::relay::{CHANNEL, Hub};
use super::{Result, Store, StoreError, audit, begin_write, instant, on_read, on_write};
use crate::domain::caller::Role;
use crate::domain::ids::{AccountId, AppointmentId, DoctorId};
use crate::domain::visit::SignalKind;
use jiff::Timestamp;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRow {
    pub id: i64,
    pub appointment_id: AppointmentId,
    pub author_account_id: AccountId,
    pub author_role: Role,
    pub body: String,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct RawChat {
    id: i64,
    appointment_id: AppointmentId,
    author_account_id: AccountId,
    role: String,
    body: String,
    created_at: i64,
}

impl TryFrom<RawChat> for ChatRow {
    type Error = StoreError;
    fn try_from(r: RawChat) -> Result<Self> {
        Ok(Self {
            author_role: Role::parse(&r.role)
                .ok_or_else(|| StoreError::corrupt(format_args!("role {:?}", r.role)))?,
            id: r.id,
            appointment_id: r.appointment_id,
            author_account_id: r.author_account_id,
            body: r.body,
            created_at: instant(r.created_at)?,
        })
    }
}

/// The chat's SELECT, with the author's role (a macro, for `concat!`).
macro_rules! select_chat {
    () => {
        "SELECT m.id, m.appointment_id, m.author_account_id, a.role, m.body, m.created_at \
         FROM visit_message m JOIN accounts a ON a.id = m.author_account_id "
    };
}

/// A visit's note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRow {
    pub appointment_id: AppointmentId,
    pub author_account_id: AccountId,
    pub body: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct RawNote {
    appointment_id: AppointmentId,
    author_account_id: AccountId,
    body: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<RawNote> for NoteRow {
    type Error = StoreError;
    fn try_from(r: RawNote) -> Result<Self> {
        Ok(Self {
            appointment_id: r.appointment_id,
            author_account_id: r.author_account_id,
            body: r.body,
            created_at: instant(r.created_at)?,
            updated_at: instant(r.updated_at)?,
        })
    }
}

/// A relayed signaling message, as delivered to the sockets of its visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub id: i64,
    pub appointment_id: AppointmentId,
    pub from_account: Option<AccountId>,
    /// The role whose socket receives it; `None`: both.
    pub to: Option<Role>,
    pub kind: SignalKind,
    /// Opaque to the store: JSON written by the use cases.
    pub payload: String,
}

#[derive(sqlx::FromRow)]
struct RawSignal {
    id: i64,
    appointment_id: AppointmentId,
    from_account_id: Option<AccountId>,
    to_role: String,
    kind: String,
    payload: String,
}

impl TryFrom<RawSignal> for Signal {
    type Error = StoreError;
    fn try_from(r: RawSignal) -> Result<Self> {
        let to = match r.to_role.as_str() {
            "both" => None,
            other => Some(
                Role::parse(other)
                    .ok_or_else(|| StoreError::corrupt(format_args!("to_role {other:?}")))?,
            ),
        };
        Ok(Self {
            id: r.id,
            appointment_id: r.appointment_id,
            from_account: r.from_account_id,
            to,
            kind: SignalKind::parse(&r.kind)
                .ok_or_else(|| StoreError::corrupt(format_args!("signal kind {:?}", r.kind)))?,
            payload: r.payload,
        })
    }
}

pub(crate) const SELECT_SIGNALS_AFTER: &str = "SELECT id, appointment_id, from_account_id, to_role, kind, payload \
     FROM visit_signal WHERE id > $1 ORDER BY id LIMIT $2";

/// A signaling message to relay.
#[derive(Debug, Clone)]
pub struct NewSignal<'a> {
    pub appointment_id: AppointmentId,
    pub from_account: Option<AccountId>,
    pub to: Option<Role>,
    pub kind: SignalKind,
    pub payload: &'a str,
}

/// A person's socket in a visit's room.
#[derive(Debug, Clone)]
pub struct PresenceKey<'a> {
    pub appointment_id: AppointmentId,
    pub role: Role,
    pub connection: &'a str,
}

fn to_role(to: Option<Role>) -> &'static str {
    to.map_or("both", Role::as_str)
}

impl Store {
    /// Keeps a chat message (its author's role read back with it).
    pub async fn add_chat(
        &self,
        appointment_id: AppointmentId,
        author: AccountId,
        body: &str,
        now: i64,
    ) -> Result<ChatRow> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO visit_message (appointment_id, author_account_id, body, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(appointment_id)
            .bind(author)
            .bind(body)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row = sqlx::query_as::<_, RawChat>(concat!(select_chat!(), "WHERE m.id = $1"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            row.try_into()
        })
    }

    /// A visit's chat after message `after`, oldest first, at most `limit`.
    pub async fn list_chat(
        &self,
        appointment_id: AppointmentId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ChatRow>> {
        on_read!(self, pool => {
            sqlx::query_as::<_, RawChat>(concat!(
                select_chat!(),
                "WHERE m.appointment_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3"
            ))
            .bind(appointment_id)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(ChatRow::try_from)
            .collect()
        })
    }

    /// How many chat messages `author` sent since `since` (any visit).
    pub async fn chat_sent_since(&self, author: AccountId, since: i64) -> Result<i64> {
        on_read!(self, pool => {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM visit_message WHERE author_account_id = $1 AND created_at >= $2",
            )
            .bind(author)
            .bind(since)
            .fetch_one(pool)
            .await?;
            Ok(n)
        })
    }

    /// Writes (or rewrites) a visit's note, audited.
    pub async fn put_note(
        &self,
        appointment_id: AppointmentId,
        author: AccountId,
        body: &str,
        now: i64,
    ) -> Result<NoteRow> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let first: Option<(i64,)> = sqlx::query_as(
                "SELECT ap.start_at FROM appointments ap WHERE ap.id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM visit_note n WHERE n.appointment_id = ap.id)",
            )
            .bind(appointment_id)
            .fetch_optional(&mut *tx)
            .await?;
            let row = sqlx::query_as::<_, RawNote>(
                "INSERT INTO visit_note (appointment_id, author_account_id, body, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (appointment_id) DO UPDATE SET body = excluded.body, \
                   author_account_id = excluded.author_account_id, updated_at = excluded.updated_at \
                 RETURNING appointment_id, author_account_id, body, created_at, updated_at",
            )
            .bind(appointment_id)
            .bind(author)
            .bind(body)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(tx, now, Some(author), "write note", "visit", appointment_id, None::<String>);
            // The patient hears once that the note is there, not of edits.
            if let Some((visit_start,)) = first {
                super::outbox::record_event!(tx, "note_ready", appointment_id, Some(author), None::<String>, visit_start, now);
            }
            tx.commit().await?;
            row.try_into()
        })
    }

    /// Writes what a person did in a visit's room (`read chat`, `read note`)
    /// to the audit log.
    pub async fn audit_visit(
        &self,
        actor: AccountId,
        action: &str,
        appointment_id: AppointmentId,
        now: i64,
    ) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            audit!(tx, now, Some(actor), action, "visit", appointment_id, None::<String>);
            tx.commit().await?;
            Ok(())
        })
    }

    /// The notes of these visits (those that have one).
    pub async fn notes_of(&self, ids: &[AppointmentId]) -> Result<Vec<NoteRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        on_read!(self, pool => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT appointment_id, author_account_id, body, created_at, updated_at \
                 FROM visit_note WHERE appointment_id IN (",
            );
            let mut sep = q.separated(", ");
            for id in ids {
                sep.push_bind(id.get());
            }
            q.push(")");
            q.build_query_as::<RawNote>()
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(NoteRow::try_from)
                .collect()
        })
    }

    /// Puts this socket in the room for its role, audited; answers the
    /// connection it replaced, if there was one (alive or not: a socket that
    /// is gone ignores being replaced).
    pub async fn enter_visit(
        &self,
        key: &PresenceKey<'_>,
        account: AccountId,
        now: i64,
    ) -> Result<Option<String>> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let before: Option<(String,)> = sqlx::query_as(
                "SELECT connection FROM visit_presence WHERE appointment_id = $1 AND role = $2",
            )
            .bind(key.appointment_id)
            .bind(key.role.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO visit_presence (appointment_id, role, account_id, connection, entered_at, seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (appointment_id, role) DO UPDATE SET account_id = excluded.account_id, \
                   connection = excluded.connection, entered_at = excluded.entered_at, \
                   seen_at = excluded.seen_at",
            )
            .bind(key.appointment_id)
            .bind(key.role.as_str())
            .bind(account)
            .bind(key.connection)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            audit!(tx, now, Some(account), "enter", "visit", key.appointment_id, Some(key.role.as_str().to_owned()));
            tx.commit().await?;
            Ok(before.map(|(c,)| c))
        })
    }

    /// Marks the socket alive; `false` when a newer socket took its place.
    pub async fn touch_presence(&self, key: &PresenceKey<'_>, now: i64) -> Result<bool> {
        on_write!(self, pool => {
            let done = sqlx::query(
                "UPDATE visit_presence SET seen_at = $4 \
                 WHERE appointment_id = $1 AND role = $2 AND connection = $3",
            )
            .bind(key.appointment_id)
            .bind(key.role.as_str())
            .bind(key.connection)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Takes the socket out of the room, audited; `false` when it was no
    /// longer there (a newer socket had replaced it).
    pub async fn leave_visit(
        &self,
        key: &PresenceKey<'_>,
        account: AccountId,
        now: i64,
    ) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query(
                "DELETE FROM visit_presence WHERE appointment_id = $1 AND role = $2 AND connection = $3",
            )
            .bind(key.appointment_id)
            .bind(key.role.as_str())
            .bind(key.connection)
            .execute(&mut *tx)
            .await?;
            let left = done.rows_affected() == 1;
            if left {
                audit!(tx, now, Some(account), "leave", "visit", key.appointment_id, Some(key.role.as_str().to_owned()));
            }
            tx.commit().await?;
            Ok(left)
        })
    }

    /// The roles in a visit's room, seen alive since `alive_since`.
    pub async fn present(
        &self,
        appointment_id: AppointmentId,
        alive_since: i64,
    ) -> Result<Vec<Role>> {
        let rows: Vec<(String,)> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT role FROM visit_presence WHERE appointment_id = $1 AND seen_at >= $2 ORDER BY role",
            )
            .bind(appointment_id)
            .bind(alive_since)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(r,)| {
                Role::parse(&r).ok_or_else(|| StoreError::corrupt(format_args!("role {r:?}")))
            })
            .collect()
    }

    /// The doctor's visits whose patient is in the room (seen since
    /// `alive_since`).
    pub async fn patients_waiting(
        &self,
        doctor_id: DoctorId,
        alive_since: i64,
    ) -> Result<Vec<AppointmentId>> {
        let rows: Vec<(AppointmentId,)> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT vp.appointment_id FROM visit_presence vp \
                 JOIN appointments ap ON ap.id = vp.appointment_id \
                 WHERE ap.doctor_id = $1 AND vp.role = 'patient' AND vp.seen_at >= $2 \
                 ORDER BY vp.appointment_id",
            )
            .bind(doctor_id)
            .bind(alive_since)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Relays a signaling message: a row, and on PostgreSQL a NOTIFY of its
    /// id in the same transaction (every instance's listener delivers it); on
    /// SQLite, one instance, it is handed to the local sockets after commit.
    ///
    /// On PostgreSQL the inserts queue on one advisory lock, so signal ids
    /// commit in the order they are given: a listener that reads "every row
    /// after the last one I delivered" never skips a row that committed late.
    pub async fn publish_signal(&self, hub: &Hub, s: &NewSignal<'_>, now: i64) -> Result<()> {
        let insert = "INSERT INTO visit_signal (appointment_id, from_account_id, to_role, kind, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        match self {
            Store::Sqlite { write, .. } => {
                let (id,): (i64,) = sqlx::query_as(insert)
                    .bind(s.appointment_id)
                    .bind(s.from_account)
                    .bind(to_role(s.to))
                    .bind(s.kind.as_str())
                    .bind(s.payload)
                    .bind(now)
                    .fetch_one(write)
                    .await?;
                hub.deliver(Signal {
                    id,
                    appointment_id: s.appointment_id,
                    from_account: s.from_account,
                    to: s.to,
                    kind: s.kind,
                    payload: s.payload.to_owned(),
                });
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7405114)")
                    .execute(&mut *tx)
                    .await?;
                let (id,): (i64,) = sqlx::query_as(insert)
                    .bind(s.appointment_id)
                    .bind(s.from_account)
                    .bind(to_role(s.to))
                    .bind(s.kind.as_str())
                    .bind(s.payload)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Signal rows after `after`, oldest first, at most `limit`.
    pub async fn signals_after(&self, after: i64, limit: i64) -> Result<Vec<Signal>> {
        on_read!(self, pool => {
            sqlx::query_as::<_, RawSignal>(SELECT_SIGNALS_AFTER)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(Signal::try_from)
                .collect()
        })
    }

    /// The newest signal's id (where a new listener starts).
    pub async fn last_signal_id(&self) -> Result<i64> {
        on_read!(self, pool => {
            let (id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM visit_signal")
                .fetch_one(pool)
                .await?;
            Ok(id)
        })
    }

    /// Deletes signal rows written before `before` (they were delivered or
    /// are too old to matter).
    pub async fn prune_signals(&self, before: i64) -> Result<u64> {
        on_write!(self, pool => {
            let done = sqlx::query("DELETE FROM visit_signal WHERE created_at < $1")
                .bind(before)
                .execute(pool)
                .await?;
            Ok(done.rows_affected())
        })
    }
}
