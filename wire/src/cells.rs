//! Cells of the CSV files the project writes (codes sheets, keys files): a cell that a
//! spreadsheet would run as a formula is written with a leading apostrophe, and read back
//! without it, so a voter named "=HYPERLINK(…)" stays a name.

use std::borrow::Cow;

/// What a spreadsheet takes for the start of a formula.
const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as written to a CSV file: formulas neutralised.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell as it was before [`spreadsheet_safe`].
pub fn from_spreadsheet(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_come_back() {
        for cell in ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"] {
            let safe = spreadsheet_safe(cell);
            assert!(safe.starts_with('\''), "{cell:?}");
            assert_eq!(from_spreadsheet(&safe), cell);
        }
        for cell in ["Ada", "0000-1111", "'quoted", ""] {
            assert_eq!(spreadsheet_safe(cell), cell);
            assert_eq!(from_spreadsheet(cell), cell);
        }
    }
}
