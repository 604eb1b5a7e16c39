//! Money as integer minor units with a currency: formatting as the browser's `Intl.NumberFormat` does, and parsing what users type.

use std::fmt;

use crate::locale::Lang;

/// A currency: its ISO 4217 code and the number of digits of its minor unit.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    minor_digits: u8,
}

/// ISO 4217 currencies without a minor unit.
const ZERO_DIGIT: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
/// ISO 4217 currencies with three minor digits.
const THREE_DIGIT: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

impl Currency {
    /// The Russian rouble.
    pub const RUB: Currency = Currency {
        code: *b"RUB",
        minor_digits: 2,
    };
    /// The US dollar.
    pub const USD: Currency = Currency {
        code: *b"USD",
        minor_digits: 2,
    };
    /// The euro.
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        minor_digits: 2,
    };

    /// The currency with ISO code `code` (three ASCII letters, any case), with its ISO minor digits
    /// (2 unless the code is known to have 0 or 3); `None` if `code` is not three letters.
    pub fn from_code(code: &str) -> Option<Currency> {
        let code = code.trim().to_ascii_uppercase();
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return None;
        }
        let minor_digits = if ZERO_DIGIT.contains(&code.as_str()) {
            0
        } else if THREE_DIGIT.contains(&code.as_str()) {
            3
        } else {
            2
        };
        Some(Currency {
            code: bytes,
            minor_digits,
        })
    }

    /// The ISO code, e.g. `RUB`.
    pub fn code(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// The number of digits of the minor unit (2 for kopecks and cents).
    pub const fn minor_digits(self) -> u8 {
        self.minor_digits
    }

    /// 10 to the power of the minor digits: minor units per major unit.
    pub const fn minor_per_major(self) -> i64 {
        10i64.pow(self.minor_digits as u32)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.code(), self.minor_digits)
    }
}

/// An amount of money in minor units (kopecks, cents) of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    /// `minor` minor units of `currency`.
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// `major` whole units (amoCRM's integer deal `price`), or `None` on overflow.
    pub fn from_major(major: i64, currency: Currency) -> Option<Money> {
        Some(Money::new(
            major.checked_mul(currency.minor_per_major())?,
            currency,
        ))
    }
}

/// How a language writes amounts, following CLDR as `Intl.NumberFormat` does for
/// ru-RU, en-US, es-ES and pt-BR with `style: "currency"`.
struct Pattern {
    group: char,
    decimal: char,
    /// The integer part is grouped only when it has at least this many digits (4, or 5 in Spanish).
    min_grouped_digits: usize,
    /// The symbol or code comes before the number.
    prefix: bool,
    /// A symbol (not a code) is glued to the number without a space (en-US: `$1.00`).
    glue_symbol: bool,
}

const NBSP: char = '\u{a0}';

fn pattern(lang: Lang) -> Pattern {
    match lang {
        Lang::Ru => Pattern {
            group: NBSP,
            decimal: ',',
            min_grouped_digits: 4,
            prefix: false,
            glue_symbol: false,
        },
        Lang::En => Pattern {
            group: ',',
            decimal: '.',
            min_grouped_digits: 4,
            prefix: true,
            glue_symbol: true,
        },
        Lang::Es => Pattern {
            group: '.',
            decimal: ',',
            min_grouped_digits: 5,
            prefix: false,
            glue_symbol: false,
        },
        Lang::Pt => Pattern {
            group: '.',
            decimal: ',',
            min_grouped_digits: 4,
            prefix: true,
            glue_symbol: false,
        },
    }
}

/// The symbol `Intl` shows for `code` in `lang`, or `None` where it shows the ISO code.
fn symbol(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match (lang, code) {
        (Lang::Ru, "RUB") => "₽",
        (Lang::Ru, "UAH") => "грн.",
        (Lang::Ru | Lang::En, "USD") => "$",
        (Lang::Es | Lang::Pt, "USD") => "US$",
        (_, "EUR") => "€",
        (Lang::Ru | Lang::En | Lang::Pt, "GBP") => "£",
        (Lang::Ru | Lang::En, "JPY") => "¥",
        (Lang::Pt, "JPY") => "JP¥",
        (Lang::Ru | Lang::En | Lang::Pt, "BRL") => "R$",
        (Lang::Ru | Lang::En | Lang::Pt, "CNY") => "CN¥",
        (Lang::Ru | Lang::En | Lang::Pt, "INR") => "₹",
        (Lang::Ru | Lang::En | Lang::Pt, "MXN") => "MX$",
        _ => return None,
    })
}

/// Formats `money` the way `Intl.NumberFormat(locale, {style: "currency", currency})` does in
/// Chromium for ru-RU, en-US, es-ES and pt-BR: `-1 234,50 ₽`, `-$1,234.50`, `RUB 1,234.50`,
/// `1234,50 €`, `R$ 1.234,50`. Spaces are no-break spaces (U+00A0), as CLDR writes them.
pub fn format_money(money: Money, lang: Lang) -> String {
    let p = pattern(lang);
    let digits = usize::from(money.currency.minor_digits());
    let absolute = money.minor.unsigned_abs();
    let per_major = money.currency.minor_per_major().unsigned_abs();
    let integer = (absolute / per_major).to_string();
    let mut number = String::new();
    if integer.len() >= p.min_grouped_digits {
        // The digits are ASCII, so byte offsets are character offsets.
        let head = match integer.len() % 3 {
            0 => 3,
            n => n,
        };
        number.push_str(&integer[..head]);
        for start in (head..integer.len()).step_by(3) {
            number.push(p.group);
            number.push_str(&integer[start..start + 3]);
        }
    } else {
        number.push_str(&integer);
    }
    if digits > 0 {
        number.push(p.decimal);
        number.push_str(&format!("{:0digits$}", absolute % per_major));
    }
    let code = money.currency.code();
    let (mark, glue) = match symbol(code, lang) {
        Some(symbol) => (symbol, p.glue_symbol),
        None => (code, false),
    };
    let space = if glue {
        String::new()
    } else {
        NBSP.to_string()
    };
    let sign = if money.minor < 0 { "-" } else { "" };
    if p.prefix {
        format!("{sign}{mark}{space}{number}")
    } else {
        format!("{sign}{number}{space}{mark}")
    }
}

/// Why typed text is not an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseAmountError {
    /// Nothing but spaces (or a sign) was typed.
    Empty,
    /// A character that has no place in an amount.
    InvalidCharacter(char),
    /// Separators in impossible places, such as `1.2.3` or `12,34.5`.
    MisplacedSeparator,
    /// More decimals than the currency has (beyond trailing zeros).
    TooManyDecimals { max: u8 },
    /// The amount does not fit.
    Overflow,
}

impl ParseAmountError {
    /// The i18n key of the message.
    pub const fn key(self) -> &'static str {
        match self {
            ParseAmountError::Empty => "ui.payments.error.amount_empty",
            ParseAmountError::InvalidCharacter(_) => "ui.payments.error.amount_invalid_character",
            ParseAmountError::MisplacedSeparator => "ui.payments.error.amount_misplaced_separator",
            ParseAmountError::TooManyDecimals { .. } => {
                "ui.payments.error.amount_too_many_decimals"
            }
            ParseAmountError::Overflow => "ui.payments.error.amount_too_large",
        }
    }
}

impl fmt::Display for ParseAmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseAmountError::Empty => f.write_str("no amount was entered"),
            ParseAmountError::InvalidCharacter(ch) => {
                write!(f, "{ch:?} cannot be part of an amount")
            }
            ParseAmountError::MisplacedSeparator => {
                f.write_str("a separator is in the wrong place")
            }
            ParseAmountError::TooManyDecimals { max } => {
                write!(f, "at most {max} decimals are allowed")
            }
            ParseAmountError::Overflow => f.write_str("the amount is too large"),
        }
    }
}

impl std::error::Error for ParseAmountError {}

/// Parses an amount typed by a user into minor units of `currency`.
///
/// Accepted: `1234.5`, `1 234,50`, `1,234.50`, `1.234,50`, `1 234`, `-5`, `−5`, `+5`, `.5`, and
/// the currency's code or symbol before or after the number (`1 234,50 ₽`, `RUB 10`). Any kind
/// of space groups digits. When both `.` and `,` appear, the last one is the decimal separator.
/// A single separator followed by exactly three digits after one to three leading digits
/// (`1,234`, `12.500`) is read as a thousands separator for currencies with fewer than three
/// decimals; otherwise a single separator is the decimal one. Decimals beyond the currency's
/// minor digits are refused unless they are zeros.
pub fn parse_amount(input: &str, currency: Currency) -> Result<Money, ParseAmountError> {
    let marks: Vec<&str> = std::iter::once(currency.code())
        .chain(
            Lang::ALL
                .iter()
                .filter_map(|&lang| symbol(currency.code(), lang)),
        )
        .collect();
    // The sign may stand before or after the currency mark (`-RUB 5`, `RUB -5`, `-5 ₽`).
    let mut text = input.trim();
    let mut negative = None;
    loop {
        let before = text;
        for mark in &marks {
            if let Some(rest) = strip_prefix_ignore_case(text, mark) {
                text = rest.trim_start();
            }
            if let Some(rest) = strip_suffix_ignore_case(text, mark) {
                text = rest.trim_end();
            }
        }
        if negative.is_none() {
            let mut chars = text.chars();
            match chars.next() {
                Some('-' | '\u{2212}') => {
                    (negative, text) = (Some(true), chars.as_str().trim_start())
                }
                Some('+') => (negative, text) = (Some(false), chars.as_str().trim_start()),
                _ => {}
            }
        }
        if text == before {
            break;
        }
    }
    let negative = negative.unwrap_or(false);
    let cleaned: String = text
        .chars()
        .filter(|ch| !(ch.is_whitespace() || *ch == '\u{a0}' || *ch == '\u{202f}' || *ch == '\''))
        .collect();
    if let Some(bad) = cleaned
        .chars()
        .find(|ch| !(ch.is_ascii_digit() || *ch == '.' || *ch == ','))
    {
        return Err(ParseAmountError::InvalidCharacter(bad));
    }
    if !cleaned.chars().any(|ch| ch.is_ascii_digit()) {
        return Err(ParseAmountError::Empty);
    }
    let (integer, fraction) = split_separators(&cleaned, currency.minor_digits())?;
    let digits = usize::from(currency.minor_digits());
    let significant = fraction.trim_end_matches('0');
    if significant.len() > digits {
        return Err(ParseAmountError::TooManyDecimals {
            max: currency.minor_digits(),
        });
    }
    let mut minor: i64 = 0;
    let padded = format!("{significant:0<digits$}");
    for ch in integer.chars().chain(padded.chars()) {
        let digit = i64::from(ch.to_digit(10).unwrap_or(0));
        minor = minor
            .checked_mul(10)
            .and_then(|value| value.checked_add(digit))
            .ok_or(ParseAmountError::Overflow)?;
    }
    Ok(Money::new(if negative { -minor } else { minor }, currency))
}

/// Splits digits with `.`/`,` into the integer digits and the fraction digits.
fn split_separators(text: &str, minor_digits: u8) -> Result<(String, String), ParseAmountError> {
    let last_separator = text.rfind(['.', ',']);
    let Some(last) = last_separator else {
        return Ok((text.to_owned(), String::new()));
    };
    let last_char = text.as_bytes()[last] as char;
    let other = if last_char == '.' { ',' } else { '.' };
    let count = text.matches(last_char).count();
    let (grouped, fraction) = if text.contains(other) {
        // Both kinds: the last one is the decimal separator and must be unique.
        if count > 1 || text[last..].contains(other) {
            return Err(ParseAmountError::MisplacedSeparator);
        }
        (&text[..last], &text[last + 1..])
    } else if count > 1 {
        // One kind, several times: thousands separators only.
        (text, "")
    } else {
        let (before, after) = (&text[..last], &text[last + 1..]);
        let looks_grouped = minor_digits < 3
            && after.len() == 3
            && (1..=3).contains(&before.len())
            && !before.starts_with('0');
        if looks_grouped {
            (text, "")
        } else {
            (before, after)
        }
    };
    let groups: Vec<&str> = grouped.split(['.', ',']).collect();
    let well_grouped = groups.len() == 1
        || (groups[0].len() <= 3
            && !groups[0].is_empty()
            && groups[1..].iter().all(|g| g.len() == 3));
    if !well_grouped {
        return Err(ParseAmountError::MisplacedSeparator);
    }
    Ok((groups.concat(), fraction.to_owned()))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let start = text.len().checked_sub(suffix.len())?;
    let tail = text.get(start..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..start])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rub(minor: i64) -> Money {
        Money::new(minor, Currency::RUB)
    }

    fn cur(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    /// Replaces no-break spaces by `_` so the expected strings are readable.
    fn shown(money: Money, lang: Lang) -> String {
        format_money(money, lang).replace('\u{a0}', "_")
    }

    #[test]
    fn currencies_know_their_minor_digits() {
        assert_eq!(cur("rub"), Currency::RUB);
        assert_eq!(cur("JPY").minor_digits(), 0);
        assert_eq!(cur("KWD").minor_digits(), 3);
        assert_eq!(cur("KZT").minor_digits(), 2);
        assert_eq!(cur(" eur ").code(), "EUR");
        assert_eq!(Currency::from_code("RU"), None);
        assert_eq!(Currency::from_code("RUBL"), None);
        assert_eq!(Currency::from_code("R1B"), None);
        assert_eq!(Currency::from_code("РУБ"), None);
        assert_eq!(Money::from_major(1500, Currency::RUB), Some(rub(150_000)));
        assert_eq!(Money::from_major(i64::MAX, Currency::RUB), None);
    }

    /// The expected strings are what `Intl.NumberFormat` printed in Chromium 156 (ICU with CLDR 48).
    #[test]
    fn formatting_matches_intl_in_the_four_languages() {
        let cases: &[(Lang, &str, i64, &str)] = &[
            (Lang::Ru, "RUB", 123_450, "1_234,50_₽"),
            (Lang::Ru, "RUB", -123_456_750, "-1_234_567,50_₽"),
            (Lang::Ru, "USD", -123_456_750, "-1_234_567,50_$"),
            (Lang::Ru, "EUR", 5, "0,05_€"),
            (Lang::Ru, "JPY", -1_234_568, "-1_234_568_¥"),
            (Lang::Ru, "UAH", -123_456_750, "-1_234_567,50_грн."),
            (Lang::Ru, "KZT", -123_456_750, "-1_234_567,50_KZT"),
            (Lang::Ru, "RUB", 99_900, "999,00_₽"),
            (Lang::En, "RUB", 123_450, "RUB_1,234.50"),
            (Lang::En, "RUB", -123_456_750, "-RUB_1,234,567.50"),
            (Lang::En, "USD", -123_456_750, "-$1,234,567.50"),
            (Lang::En, "EUR", 123_450, "€1,234.50"),
            (Lang::En, "JPY", 1_235, "¥1,235"),
            (Lang::En, "GBP", -123_456_750, "-£1,234,567.50"),
            (Lang::En, "KZT", 123_450, "KZT_1,234.50"),
            (Lang::En, "KWD", 1_234_500, "KWD_1,234.500"),
            (Lang::Es, "RUB", 123_450, "1234,50_RUB"),
            (Lang::Es, "RUB", -123_456_750, "-1.234.567,50_RUB"),
            (Lang::Es, "EUR", 1_234_550, "12.345,50_€"),
            (Lang::Es, "USD", 123_450, "1234,50_US$"),
            (Lang::Es, "JPY", -1_234_568, "-1.234.568_JPY"),
            (Lang::Pt, "RUB", 123_450, "RUB_1.234,50"),
            (Lang::Pt, "BRL", -123_456_750, "-R$_1.234.567,50"),
            (Lang::Pt, "USD", -123_456_750, "-US$_1.234.567,50"),
            (Lang::Pt, "EUR", -123_456_750, "-€_1.234.567,50"),
            (Lang::Pt, "JPY", -1_234_568, "-JP¥_1.234.568"),
            (Lang::Pt, "GBP", -123_456_750, "-£_1.234.567,50"),
        ];
        for &(lang, code, minor, expected) in cases {
            assert_eq!(
                shown(Money::new(minor, cur(code)), lang),
                expected,
                "{lang:?} {code} {minor}"
            );
        }
        assert_eq!(
            shown(Money::new(i64::MIN, Currency::RUB), Lang::Ru),
            "-92_233_720_368_547_758,08_₽"
        );
    }

    #[test]
    fn typed_amounts_parse_into_minor_units() {
        let ok: &[(&str, i64)] = &[
            ("1 234,5", 123_450),
            ("1234.50", 123_450),
            ("1234,50", 123_450),
            ("1\u{a0}234,50\u{a0}₽", 123_450),
            ("1\u{202f}234", 123_400),
            ("1,234.50", 123_450),
            ("1.234,50", 123_450),
            ("1,234", 123_400),
            ("12.500", 1_250_000),
            ("1,234,567", 123_456_700),
            ("0.5", 50),
            (".5", 50),
            ("5.", 500),
            ("7", 700),
            ("-10,01", -1001),
            ("\u{2212}10", -1000),
            ("+3", 300),
            ("RUB 10", 1000),
            ("-RUB 10", -1000),
            ("RUB -10", -1000),
            ("10 rub", 1000),
            ("  42  ", 4200),
            ("1234.500", 123_450),
            ("1'234.50", 123_450),
        ];
        for &(text, minor) in ok {
            assert_eq!(
                parse_amount(text, Currency::RUB),
                Ok(rub(minor)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn bad_amounts_get_clear_errors() {
        use ParseAmountError::*;
        let bad: &[(&str, ParseAmountError)] = &[
            ("", Empty),
            ("  ", Empty),
            ("-", Empty),
            ("₽", Empty),
            ("12a", InvalidCharacter('a')),
            ("1e5", InvalidCharacter('e')),
            ("10 $", InvalidCharacter('$')),
            ("1.2.3", MisplacedSeparator),
            ("12,34.5", MisplacedSeparator),
            ("1.234.5,6,7", MisplacedSeparator),
            ("1,23,456", MisplacedSeparator),
            ("1.5,00", MisplacedSeparator),
            ("1234.567", TooManyDecimals { max: 2 }),
            ("0.001", TooManyDecimals { max: 2 }),
            ("0,123", TooManyDecimals { max: 2 }),
            ("99999999999999999999", Overflow),
        ];
        for &(text, error) in bad {
            assert_eq!(parse_amount(text, Currency::RUB), Err(error), "{text:?}");
        }
        assert_eq!(
            ParseAmountError::Overflow.key(),
            "ui.payments.error.amount_too_large"
        );
        assert_eq!(
            ParseAmountError::TooManyDecimals { max: 2 }.to_string(),
            "at most 2 decimals are allowed"
        );
    }

    #[test]
    fn the_currency_decides_decimals() {
        let jpy = cur("JPY");
        assert_eq!(parse_amount("1,234", jpy), Ok(Money::new(1234, jpy)));
        assert_eq!(
            parse_amount("12.5", jpy),
            Err(ParseAmountError::TooManyDecimals { max: 0 })
        );
        assert_eq!(parse_amount("12.0", jpy), Ok(Money::new(12, jpy)));
        let kwd = cur("KWD");
        // Three decimals exist in dinars, so "1,234" is one dinar and 234 fils.
        assert_eq!(parse_amount("1,234", kwd), Ok(Money::new(1234, kwd)));
        assert_eq!(parse_amount("1.5", kwd), Ok(Money::new(1500, kwd)));
    }

    #[test]
    fn formatting_and_parsing_round_trip() {
        for minor in [0, 1, 99, 100, 123_456, -98_765_432, 1_000_000_000] {
            for lang in Lang::ALL {
                let money = rub(minor);
                assert_eq!(
                    parse_amount(&format_money(money, lang), Currency::RUB),
                    Ok(money),
                    "{lang:?} {minor}"
                );
            }
        }
    }
}
