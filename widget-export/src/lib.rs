//! XLSX export of one table, built with `rust_xlsxwriter` in a wasm module of its own.
//!
//! The key-metrics page imports this module only when the user asks for an Excel file, so the
//! writer (and its zip and deflate code) never weighs on the widget's everyday download.
//! [`workbook`] is the pure part, tested natively; [`xlsx`] adapts JavaScript cells to it.

use js_sys::{Array, Reflect};
use rust_xlsxwriter::{Format, Url, Workbook, XlsxError};
use wasm_bindgen::prelude::*;

/// One cell of an exported table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A fraction shown as a percentage (0.125 is 12.5 %).
    Share(f64),
    /// A hyperlink, such as a deal's card.
    Link {
        text: String,
        url: String,
    },
}

/// A table to export: one worksheet with a bold header row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The longest worksheet name Excel accepts.
const MAX_SHEET_NAME: usize = 31;

/// `name` as a valid worksheet name: without the characters Excel forbids, at most 31 characters.
pub fn sheet_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => ' ',
            c => c,
        })
        .take(MAX_SHEET_NAME)
        .collect();
    let clean = clean.trim().trim_matches('\'').trim();
    if clean.is_empty() {
        "Sheet1".to_owned()
    } else {
        clean.to_owned()
    }
}

/// The XLSX file of `sheet`.
pub fn workbook(sheet: &Sheet) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let link = Format::new()
        .set_font_color("0563C1")
        .set_underline(rust_xlsxwriter::FormatUnderline::Single);
    let page = book.add_worksheet();
    page.set_name(sheet_name(&sheet.name))?;
    for (col, title) in (0u16..).zip(&sheet.header) {
        page.write_string_with_format(0, col, title, &bold)?;
    }
    for (row, cells) in (1u32..).zip(&sheet.rows) {
        for (col, cell) in (0u16..).zip(cells) {
            match cell {
                Cell::Text(text) => page.write_string(row, col, text)?,
                Cell::Number(number) => page.write_number(row, col, *number)?,
                Cell::Share(share) => page.write_number_with_format(row, col, *share, &percent)?,
                Cell::Link { text, url } => {
                    page.write_url_with_format(row, col, Url::new(url).set_text(text), &link)?
                }
            };
        }
    }
    page.set_freeze_panes(1, 0)?;
    page.autofit();
    book.save_to_buffer()
}

/// A JavaScript cell: a string, a number, `{share}` or `{text, url}`.
fn cell_of(value: &JsValue) -> Cell {
    if let Some(number) = value.as_f64() {
        return Cell::Number(number);
    }
    if let Some(text) = value.as_string() {
        return Cell::Text(text);
    }
    let field =
        |key: &str| Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    if let Some(share) = field("share").as_f64() {
        return Cell::Share(share);
    }
    match (field("text").as_string(), field("url").as_string()) {
        (Some(text), Some(url)) => Cell::Link { text, url },
        (Some(text), None) => Cell::Text(text),
        _ => Cell::Text(String::new()),
    }
}

/// The XLSX file of a table: `rows` is an array of arrays of cells (see [`Cell`]).
#[wasm_bindgen]
pub fn xlsx(name: &str, header: Vec<String>, rows: Array) -> Result<Vec<u8>, JsError> {
    let rows = rows
        .iter()
        .map(|row| {
            Array::from(&row)
                .iter()
                .map(|cell| cell_of(&cell))
                .collect()
        })
        .collect();
    let sheet = Sheet {
        name: name.to_owned(),
        header,
        rows,
    };
    workbook(&sheet).map_err(|error| JsError::new(&error.to_string()))
}
