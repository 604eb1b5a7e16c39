//! Native tests of the XLSX export: the file is a valid zip whose sheet holds the header, numbers, shares and links.

use std::io::{Cursor, Read};

use leakguard_export::{sheet_name, workbook, Cell, Sheet};

fn part(file: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(file)).expect("an XLSX file is a zip");
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} is in the workbook"))
        .read_to_string(&mut text)
        .expect("UTF-8 XML");
    text
}

#[test]
fn a_table_round_trips_through_the_sheet_xml() {
    let sheet = Sheet {
        name: "Причины отказа".into(),
        header: vec![
            "Причина".into(),
            "Сделок".into(),
            "Доля".into(),
            "Ссылка".into(),
        ],
        rows: vec![
            vec![
                Cell::Text("Дорого".into()),
                Cell::Number(12.0),
                Cell::Share(0.125),
                Cell::Link {
                    text: "21000042".into(),
                    url: "https://example.amocrm.ru/leads/detail/21000042".into(),
                },
            ],
            vec![Cell::Text("Без причины".into()), Cell::Number(1_250_000.0)],
        ],
    };
    let file = workbook(&sheet).expect("the workbook is written");
    assert!(file.starts_with(b"PK"));
    let xml = part(&file, "xl/worksheets/sheet1.xml");
    assert!(xml.contains("<v>12</v>"), "{xml}");
    assert!(xml.contains("<v>0.125</v>"), "{xml}");
    assert!(xml.contains("<v>1250000</v>"), "{xml}");
    assert!(xml.contains("<hyperlink"), "{xml}");
    let strings = part(&file, "xl/sharedStrings.xml");
    for text in ["Причина", "Дорого", "Без причины", "21000042"] {
        assert!(strings.contains(text), "{text} in {strings}");
    }
    let rels = part(&file, "xl/worksheets/_rels/sheet1.xml.rels");
    assert!(
        rels.contains("https://example.amocrm.ru/leads/detail/21000042"),
        "{rels}"
    );
    let book = part(&file, "xl/workbook.xml");
    assert!(book.contains("Причины отказа"), "{book}");
}

#[test]
fn sheet_names_follow_excel_rules() {
    assert_eq!(
        sheet_name("Lost: by reason [2026/11]"),
        "Lost  by reason  2026 11"
    );
    assert_eq!(sheet_name(""), "Sheet1");
    assert_eq!(sheet_name("'*'"), "Sheet1");
    assert_eq!(sheet_name(&"я".repeat(40)).chars().count(), 31);
}
