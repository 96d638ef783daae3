//! What slot generation needs about a doctor, read in one round trip and one
//! row.
//!
//! The free-slots page and every booking read a doctor's visit length, weekly
//! hours, date overrides, time off and taken slots. As separate queries that is
//! several round trips, and each row of each answer is handed over on its own;
//! on SQLite every query and every row is a hand-off between the connection's
//! worker thread and the async task, and those thread switches cost far more
//! than the queries (see docs/PERFORMANCE.md). Here each list is folded into one
//! text column with `string_agg` (SQLite 3.44+ and PostgreSQL), every subquery
//! served by its table's index on `doctor_id`, and parsed and sorted back here
//! (sorting in the aggregate would make SQLite build a temporary b-tree each
//! time, which costs more than the sort in Rust).

use super::{AvailabilityRows, HoursRow, OverrideRow, Result, Store, StoreError, on_read};
use crate::domain::ids::DoctorId;
use jiff::Timestamp;

/// `$1` = doctor: visit and buffer length, weekly intervals as
/// `weekday start end,...`, overrides as `date start end,...` (`-` for a
/// closed day's missing minutes), in no particular order.
macro_rules! availability_columns {
    () => {
        "SELECT d.visit_minutes, d.buffer_minutes, \
           (SELECT string_agg(CAST(h.weekday AS TEXT) || ' ' || CAST(h.start_minute AS TEXT) \
                   || ' ' || CAST(h.end_minute AS TEXT), ',') \
              FROM working_hours h WHERE h.doctor_id = d.id) AS weekly, \
           (SELECT string_agg(o.on_date || ' ' || COALESCE(CAST(o.start_minute AS TEXT), '-') \
                   || ' ' || COALESCE(CAST(o.end_minute AS TEXT), '-'), ',') \
              FROM date_overrides o WHERE o.doctor_id = d.id) AS overrides"
    };
}

pub(crate) const AVAILABILITY: &str =
    concat!(availability_columns!(), " FROM doctors d WHERE d.id = $1");

/// Plus whether the doctor is active, their time zone, time off overlapping
/// `($2, $3)` and the periods of unreleased slots
/// overlapping `[$2, $3)` (the conditions of [`super::appointments::TAKEN_PERIODS`]),
/// each as `start end,...`.
pub(crate) const SCHEDULE: &str = concat!(
    availability_columns!(),
    ", d.active, d.timezone, \
       (SELECT string_agg(CAST(t.start_at AS TEXT) || ' ' || CAST(t.end_at AS TEXT), ',') \
          FROM time_off t WHERE t.doctor_id = d.id AND t.end_at > $2 AND t.start_at < $3) AS time_off, \
       (SELECT string_agg(CAST(s.start_at AS TEXT) || ' ' || CAST(s.end_at AS TEXT), ',') \
          FROM slots s WHERE s.doctor_id = d.id AND s.released_at IS NULL \
           AND s.start_at > $2 - 86400 AND s.start_at < $3 AND s.end_at > $2) AS taken \
     FROM doctors d WHERE d.id = $1"
);

/// A doctor's hours, time off and taken periods around a window.
#[derive(Debug, Clone)]
pub struct ScheduleRows {
    /// Whether the doctor takes bookings (inactive ones are hidden from the public).
    pub active: bool,
    /// The doctor's IANA time zone.
    pub timezone: String,
    pub availability: AvailabilityRows,
    /// `(start_at, end_at)` of time off overlapping the window, by start.
    pub time_off: Vec<(i64, i64)>,
    /// `(start_at, end_at)` of taken slots overlapping the window, by start.
    pub taken: Vec<(i64, i64)>,
}

fn bad() -> StoreError {
    StoreError::Database(sqlx::Error::Protocol("malformed schedule list".into()))
}

/// The items of a folded list (`None`: no items).
fn items(list: Option<&str>) -> impl Iterator<Item = Vec<&str>> {
    list.unwrap_or_default()
        .split(',')
        .filter(|i| !i.is_empty())
        .map(|i| i.split(' ').collect())
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse().map_err(|_| bad())
}

fn opt_num(s: &str) -> Result<Option<i32>> {
    if s == "-" { Ok(None) } else { num(s).map(Some) }
}

/// `start end,...` as pairs, by start.
pub(crate) fn periods(list: Option<&str>) -> Result<Vec<(i64, i64)>> {
    let mut out = items(list)
        .map(|f| match f.as_slice() {
            [s, e] => Ok((num(s)?, num(e)?)),
            _ => Err(bad()),
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_unstable();
    Ok(out)
}

pub(super) fn availability(
    visit_minutes: i32,
    buffer_minutes: i32,
    weekly: Option<&str>,
    overrides: Option<&str>,
) -> Result<AvailabilityRows> {
    let mut weekly = items(weekly)
        .map(|f| match f.as_slice() {
            [w, s, e] => Ok(HoursRow {
                weekday: num(w)?,
                start_minute: num(s)?,
                end_minute: num(e)?,
            }),
            _ => Err(bad()),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut overrides = items(overrides)
        .map(|f| match f.as_slice() {
            [d, s, e] => Ok(OverrideRow {
                on_date: (*d).to_owned(),
                start_minute: opt_num(s)?,
                end_minute: opt_num(e)?,
            }),
            _ => Err(bad()),
        })
        .collect::<Result<Vec<_>>>()?;
    // The order the separate queries had: weekday then start; date then start.
    weekly.sort_unstable_by_key(|h| (h.weekday, h.start_minute));
    overrides.sort_by(|a, b| (&a.on_date, a.start_minute).cmp(&(&b.on_date, b.start_minute)));
    Ok(AvailabilityRows {
        visit_minutes,
        buffer_minutes,
        weekly,
        overrides,
    })
}

pub(super) type AvailabilityRow = (i32, i32, Option<String>, Option<String>);
type ScheduleRow = (
    i32,
    i32,
    Option<String>,
    Option<String>,
    bool,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// A doctor's visit length, weekly hours and overrides (one query, one
    /// row); `None` if there is no such doctor.
    pub(crate) async fn availability_rows(
        &self,
        doctor_id: DoctorId,
    ) -> Result<Option<AvailabilityRows>> {
        let row: Option<AvailabilityRow> = on_read!(self, pool => {
            sqlx::query_as(AVAILABILITY).bind(doctor_id).fetch_optional(pool).await?
        });
        row.map(|(v, b, w, o)| availability(v, b, w.as_deref(), o.as_deref()))
            .transpose()
    }

    /// Everything slot generation needs about a doctor around `[from, to)` in
    /// one query and one row: hours, time off with `end > from` and
    /// `start < to`, and taken periods overlapping `[from, to)`. `None` if
    /// there is no such doctor.
    pub async fn schedule_rows(
        &self,
        doctor_id: DoctorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Option<ScheduleRows>> {
        let (from, to) = (from.as_second(), to.as_second());
        let row: Option<ScheduleRow> = on_read!(self, pool => {
            sqlx::query_as(SCHEDULE)
                .bind(doctor_id)
                .bind(from)
                .bind(to)
                .fetch_optional(pool)
                .await?
        });
        let Some((v, b, w, o, active, timezone, t, k)) = row else {
            return Ok(None);
        };
        Ok(Some(ScheduleRows {
            active,
            timezone,
            availability: availability(v, b, w.as_deref(), o.as_deref())?,
            time_off: periods(t.as_deref())?,
            taken: periods(k.as_deref())?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decision 0007: with STAT4, SQLite re-prepared the schedule query on
    /// every run once `ANALYZE` had collected samples. `.cargo/config.toml`
    /// builds the bundled SQLite without it; this fails if that is lost.
    #[tokio::test]
    async fn the_bundled_sqlite_is_built_without_stat4() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let stat4: (i64,) = sqlx::query_as("SELECT sqlite_compileoption_used('ENABLE_STAT4')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(stat4.0, 0);
        // string_agg, which the schedule query folds its lists with, is there.
        let version: (String,) = sqlx::query_as("SELECT sqlite_version()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let parts: Vec<u32> = version
            .0
            .split('.')
            .filter_map(|p| p.parse().ok())
            .collect();
        assert!(parts.as_slice() >= [3, 44].as_slice(), "{}", version.0);
    }

    #[test]
    fn folded_lists_parse_back() {
        let a = availability(
            30,
            5,
            Some("1 480 720,1 780 1020"),
            Some("2026-12-24 - -,2026-12-31 480 600"),
        )
        .unwrap();
        assert_eq!(a.weekly.len(), 2);
        assert_eq!(a.weekly[1].start_minute, 780);
        assert_eq!(a.overrides[0].start_minute, None);
        assert_eq!(a.overrides[1].end_minute, Some(600));
        assert_eq!(
            periods(Some("10 20,30 40")).unwrap(),
            vec![(10, 20), (30, 40)]
        );
        assert!(periods(None).unwrap().is_empty());
        assert!(periods(Some("10")).is_err());
        assert!(availability(30, 0, Some("x 1 2"), None).is_err());
    }
}
