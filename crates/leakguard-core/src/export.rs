//! CSV export of any table: UTF-8 with a byte-order mark (so Excel opens Cyrillic right), RFC 4180 quoting, `;` or `,` between fields.

/// The field separator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delimiter {
    /// `;`, what Excel expects in locales whose decimal separator is a comma (Russian, Spanish, Portuguese).
    #[default]
    Semicolon,
    /// `,`, what Excel expects in English locales.
    Comma,
}

impl Delimiter {
    const fn char(self) -> char {
        match self {
            Delimiter::Semicolon => ';',
            Delimiter::Comma => ',',
        }
    }
}

/// Writes `header` and `rows` as CSV: a UTF-8 byte-order mark first, records ended by CRLF, and a
/// field quoted (with inner quotes doubled) when it holds the delimiter, a quote, CR or LF, or
/// starts or ends with a space. Rows may have different lengths; nothing is padded.
pub fn to_csv<R, F>(header: &[&str], rows: R, delimiter: Delimiter) -> String
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    let mut out = String::from('\u{feff}');
    write_record(&mut out, header.iter(), delimiter);
    for row in rows {
        write_record(&mut out, row.into_iter(), delimiter);
    }
    out
}

fn write_record<F: AsRef<str>>(
    out: &mut String,
    fields: impl Iterator<Item = F>,
    delimiter: Delimiter,
) {
    let separator = delimiter.char();
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(separator);
        }
        let field = field.as_ref();
        let needs_quotes = field.contains([separator, '"', '\r', '\n'])
            || field.starts_with(' ')
            || field.ends_with(' ');
        if needs_quotes {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_with_bom_and_semicolons() {
        let csv = to_csv(
            &["Сделка", "Бюджет", "Ссылка"],
            [
                [
                    "ООО «Ромашка»",
                    "1 234,50 ₽",
                    "https://example.amocrm.ru/leads/detail/1",
                ],
                [
                    "ИП Иванов; филиал",
                    "0",
                    "https://example.amocrm.ru/leads/detail/2",
                ],
            ],
            Delimiter::Semicolon,
        );
        assert_eq!(
            csv,
            "\u{feff}Сделка;Бюджет;Ссылка\r\n\
             ООО «Ромашка»;1 234,50 ₽;https://example.amocrm.ru/leads/detail/1\r\n\
             \"ИП Иванов; филиал\";0;https://example.amocrm.ru/leads/detail/2\r\n"
        );
        assert!(csv.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
    }

    #[test]
    fn quotes_newlines_and_commas_are_quoted() {
        let rows: Vec<Vec<String>> = vec![
            vec!["He said \"hi\"".into(), "a,b".into()],
            vec!["line\nbreak".into(), "cr\rhere".into()],
            vec![" padded".into(), "a;b".into()],
            vec![String::new(), "plain".into()],
        ];
        let csv = to_csv(&["x", "y"], &rows, Delimiter::Comma);
        assert_eq!(
            csv,
            "\u{feff}x,y\r\n\
             \"He said \"\"hi\"\"\",\"a,b\"\r\n\
             \"line\nbreak\",\"cr\rhere\"\r\n\
             \" padded\",a;b\r\n\
             ,plain\r\n"
        );
    }

    #[test]
    fn an_empty_table_is_just_the_header() {
        let rows: [[&str; 0]; 0] = [];
        assert_eq!(
            to_csv(&["Причина"], rows, Delimiter::default()),
            "\u{feff}Причина\r\n"
        );
    }

    /// A minimal RFC 4180 reader, to check that what is written reads back the same.
    fn read(csv: &str, separator: char) -> Vec<Vec<String>> {
        let mut records = vec![];
        let mut record = vec![];
        let mut field = String::new();
        let mut chars = csv.trim_start_matches('\u{feff}').chars().peekable();
        let mut quoted = false;
        while let Some(ch) = chars.next() {
            match (quoted, ch) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, _) => field.push(ch),
                (false, '"') => quoted = true,
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, _) if ch == separator => record.push(std::mem::take(&mut field)),
                (false, _) => field.push(ch),
            }
        }
        records
    }

    #[test]
    fn written_tables_read_back() {
        let table = vec![
            vec![
                "Менеджер".to_owned(),
                "Сумма; руб.".to_owned(),
                "Комментарий".to_owned(),
            ],
            vec![
                "Анна".to_owned(),
                "-1 000,00".to_owned(),
                "сказала: \"дорого\"\r\nперезвонить".to_owned(),
            ],
        ];
        for delimiter in [Delimiter::Semicolon, Delimiter::Comma] {
            let header: Vec<&str> = table[0].iter().map(String::as_str).collect();
            let csv = to_csv(&header, &table[1..], delimiter);
            assert_eq!(read(&csv, delimiter.char()), table);
        }
    }
}
