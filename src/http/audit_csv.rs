//! The audit log as CSV, for the page's and the API's export (one writer for
//! both faces, as [`super::cursor`] is one cursor format).
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (and some a
//! tab or carriage return) as a formula: an entry's free text (a reason, a
//! login) could then run in the reader's spreadsheet. Such cells get a
//! leading `'`, which spreadsheets show as text and do not evaluate (OWASP's
//! advice on CSV injection). Quoting itself is the `csv` crate's.

use crate::domain::audit::AuditRecord;

/// The export's columns, in order.
pub const HEADER: [&str; 7] = [
    "id",
    "at",
    "actor_account_id",
    "action",
    "entity",
    "entity_id",
    "detail",
];

/// `cell`, made inert for spreadsheets if it would start a formula.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The rows as a CSV document with a header line.
pub fn audit_csv(rows: &[AuditRecord]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    for r in rows {
        let actor = r.actor_account_id.map(|a| a.get().to_string());
        w.write_record([
            r.id.to_string().as_str(),
            &super::api::instant_text(r.at),
            actor.as_deref().unwrap_or(""),
            &neutralize(&r.action),
            &neutralize(&r.entity),
            &r.entity_id.to_string(),
            &neutralize(r.detail.as_deref().unwrap_or("")),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AccountId;
    use proptest::prelude::*;

    fn record(detail: &str) -> AuditRecord {
        AuditRecord {
            id: 7,
            at: jiff::Timestamp::from_second(1_800_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            actor_account_id: Some(AccountId::new(3)),
            action: "payment".into(),
            entity: "appointment".into(),
            entity_id: 42,
            detail: Some(detail.into()),
        }
    }

    #[test]
    fn formula_cells_are_made_text_and_others_left_alone() {
        assert_eq!(neutralize("=1+1"), "'=1+1");
        assert_eq!(neutralize("+49 30"), "'+49 30");
        assert_eq!(neutralize("-2"), "'-2");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("unpaid -> paid"), "unpaid -> paid");
        assert_eq!(neutralize(""), "");
    }

    proptest! {
        /// Whatever an entry holds, the CSV reads back to the same fields,
        /// and no cell starts a formula.
        #[test]
        fn any_detail_reads_back_and_never_starts_a_formula(detail in "\\PC{0,40}") {
            let bytes = audit_csv(&[record(&detail)]).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut r = csv::Reader::from_reader(bytes.as_slice());
            let rows: Vec<csv::StringRecord> = r.records().collect::<Result<_, _>>().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(rows.len(), 1);
            let cell = &rows[0][6];
            prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']));
            let back = cell.strip_prefix('\'').filter(|_| neutralize(&detail) != detail.as_str()).unwrap_or(cell);
            prop_assert_eq!(back, detail.as_str());
        }
    }
}
