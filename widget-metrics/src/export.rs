//! Exports of a table: CSV through the core's writer (UTF-8 with a byte-order mark, so Excel
//! opens Cyrillic right) and the rows for the XLSX module, with deal links in both.

use leakguard_core::export::{to_csv, Delimiter};
use leakguard_core::locale::Lang;

use crate::report::{Cell, Table};

/// The deal card's address: `{origin}/leads/detail/{id}`.
pub fn deal_url(origin: &str, id: u64) -> String {
    format!("{origin}/leads/detail/{id}")
}

/// What Excel expects in the user's language: `;` and a decimal comma, or `,` and a decimal point.
pub fn delimiter(lang: Lang) -> Delimiter {
    match lang {
        Lang::En => Delimiter::Comma,
        Lang::Ru | Lang::Es | Lang::Pt => Delimiter::Semicolon,
    }
}

/// A share in basis points as a percentage with one decimal, e.g. `12,5` or `12.5`.
pub fn percent(basis_points: i64, delimiter: Delimiter) -> String {
    let tenths = (basis_points.saturating_abs() + 5) / 10;
    let sign = if basis_points < 0 && tenths > 0 {
        "-"
    } else {
        ""
    };
    let point = match delimiter {
        Delimiter::Semicolon => ',',
        Delimiter::Comma => '.',
    };
    format!("{sign}{}{point}{}", tenths / 10, tenths % 10)
}

/// Whether a table has deal links, which get a column of their addresses.
fn has_links(table: &Table) -> bool {
    table
        .rows
        .iter()
        .flatten()
        .any(|cell| matches!(cell, Cell::Deal { .. }))
}

/// The table as CSV: numbers plain (no grouping, no currency), shares as percentages, and for a
/// deal list a last column with each card's address.
pub fn csv(table: &Table, lang: Lang, origin: &str, link_column: &str) -> String {
    let delimiter = delimiter(lang);
    let links = has_links(table);
    let mut header: Vec<&str> = table.columns.iter().map(String::as_str).collect();
    if links {
        header.push(link_column);
    }
    let rows = table.rows.iter().map(|row| {
        let mut fields: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                Cell::Text(text) => text.clone(),
                Cell::Count { value, .. }
                | Cell::Money { value, .. }
                | Cell::Change { value, .. } => value.to_string(),
                Cell::Share { basis_points, .. } => percent(*basis_points, delimiter),
                Cell::Deal { name, .. } => name.clone(),
            })
            .collect();
        if links {
            let id = row.iter().find_map(|cell| match cell {
                Cell::Deal { id, .. } => Some(*id),
                _ => None,
            });
            fields.push(id.map(|id| deal_url(origin, id)).unwrap_or_default());
        }
        fields
    });
    to_csv(&header, rows, delimiter)
}

/// One cell for the XLSX module.
#[derive(Clone, Debug, PartialEq)]
pub enum XlsxCell {
    Text(String),
    Number(f64),
    /// A fraction shown as a percentage.
    Share(f64),
    Link {
        text: String,
        url: String,
    },
}

/// The header and rows for the XLSX module: numbers stay numbers, deals become hyperlinks, and a
/// deal list gets the column of addresses too.
pub fn xlsx_rows(
    table: &Table,
    origin: &str,
    link_column: &str,
) -> (Vec<String>, Vec<Vec<XlsxCell>>) {
    let links = has_links(table);
    let mut header = table.columns.clone();
    if links {
        header.push(link_column.to_owned());
    }
    let rows = table
        .rows
        .iter()
        .map(|row| {
            let mut cells: Vec<XlsxCell> = row
                .iter()
                .map(|cell| match cell {
                    Cell::Text(text) => XlsxCell::Text(text.clone()),
                    Cell::Count { value, .. }
                    | Cell::Money { value, .. }
                    | Cell::Change { value, .. } => XlsxCell::Number(*value as f64),
                    Cell::Share { basis_points, .. } => {
                        XlsxCell::Share(*basis_points as f64 / 10_000.0)
                    }
                    Cell::Deal { id, name } => XlsxCell::Link {
                        text: name.clone(),
                        url: deal_url(origin, *id),
                    },
                })
                .collect();
            if links {
                let url = row.iter().find_map(|cell| match cell {
                    Cell::Deal { id, .. } => Some(deal_url(origin, *id)),
                    _ => None,
                });
                cells.push(XlsxCell::Text(url.unwrap_or_default()));
            }
            cells
        })
        .collect();
    (header, rows)
}

/// The download's file name: `leakguard-<table>-<date>.<extension>`.
pub fn file_name(table_id: &str, date: &str, extension: &str) -> String {
    let safe: String = table_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("leakguard-{safe}-{date}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Trend;

    fn table() -> Table {
        Table {
            id: "lost-reasons".into(),
            title: "By reason".into(),
            columns: vec![
                "Причина".into(),
                "Сделок".into(),
                "Сумма".into(),
                "Доля".into(),
                "Изменение".into(),
            ],
            rows: vec![vec![
                Cell::Text("Дорого; очень".into()),
                Cell::Count {
                    value: 1234,
                    text: "1 234".into(),
                    drill: Some(0),
                },
                Cell::Money {
                    value: 5_000_000,
                    text: "5 000 000 ₽".into(),
                    drill: Some(1),
                },
                Cell::Share {
                    basis_points: 1250,
                    text: "12,5 %".into(),
                },
                Cell::Change {
                    value: -3,
                    text: "−3".into(),
                    trend: Trend::Down,
                },
            ]],
        }
    }

    #[test]
    fn csv_has_plain_numbers_and_a_bom() {
        let text = csv(&table(), Lang::Ru, "https://x.amocrm.ru", "Ссылка");
        assert_eq!(
            text,
            "\u{feff}Причина;Сделок;Сумма;Доля;Изменение\r\n\"Дорого; очень\";1234;5000000;12,5;-3\r\n"
        );
        let english = csv(&table(), Lang::En, "", "Link");
        assert!(
            english.contains("Дорого; очень,1234,5000000,12.5,-3\r\n"),
            "{english}"
        );
    }

    #[test]
    fn deal_lists_carry_links() {
        let deals = Table {
            id: "deals".into(),
            title: "Lost".into(),
            columns: vec!["Deal".into(), "Value".into()],
            rows: vec![vec![
                Cell::Deal {
                    id: 42,
                    name: "Поставка".into(),
                },
                Cell::Money {
                    value: 100,
                    text: "100".into(),
                    drill: None,
                },
            ]],
        };
        let text = csv(&deals, Lang::En, "https://x.kommo.com", "Link");
        assert_eq!(
            text,
            "\u{feff}Deal,Value,Link\r\nПоставка,100,https://x.kommo.com/leads/detail/42\r\n"
        );
        let (header, rows) = xlsx_rows(&deals, "https://x.kommo.com", "Link");
        assert_eq!(header, ["Deal", "Value", "Link"]);
        assert_eq!(
            rows[0],
            [
                XlsxCell::Link {
                    text: "Поставка".into(),
                    url: "https://x.kommo.com/leads/detail/42".into()
                },
                XlsxCell::Number(100.0),
                XlsxCell::Text("https://x.kommo.com/leads/detail/42".into()),
            ]
        );
        let (header, rows) = xlsx_rows(&table(), "", "Link");
        assert_eq!(header.len(), 5, "aggregate tables get no link column");
        assert_eq!(rows[0][3], XlsxCell::Share(0.125));
    }

    #[test]
    fn percentages_round_to_a_tenth() {
        assert_eq!(percent(1250, Delimiter::Semicolon), "12,5");
        assert_eq!(percent(10_000, Delimiter::Comma), "100.0");
        assert_eq!(percent(3333, Delimiter::Comma), "33.3");
        assert_eq!(percent(3335, Delimiter::Comma), "33.4");
        assert_eq!(percent(0, Delimiter::Comma), "0.0");
        assert_eq!(percent(-4, Delimiter::Comma), "0.0");
        assert_eq!(percent(-250, Delimiter::Comma), "-2.5");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            file_name("lost-reasons", "2026-11-27", "csv"),
            "leakguard-lost-reasons-2026-11-27.csv"
        );
        assert_eq!(file_name("a/b c", "d", "xlsx"), "leakguard-a-b-c-d.xlsx");
    }
}
