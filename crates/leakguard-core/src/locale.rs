//! The four languages LeakGuard speaks and per-language values stored in the settings.

use serde::{Deserialize, Serialize};

/// A language of the widget and of the account (amoCRM and Kommo offer these four).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ru,
    #[default]
    En,
    Es,
    Pt,
}

impl Lang {
    /// All languages, in the order the i18n files list them.
    pub const ALL: [Lang; 4] = [Lang::Ru, Lang::En, Lang::Es, Lang::Pt];

    /// The language of a code such as `ru`, `ru-RU` or `pt_BR`; English for anything else.
    pub fn from_code(code: &str) -> Lang {
        let primary = code.split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "ru" => Lang::Ru,
            "es" => Lang::Es,
            "pt" => Lang::Pt,
            _ => Lang::En,
        }
    }

    /// The two-letter code, as in the i18n file names.
    pub const fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Pt => "pt",
        }
    }
}

/// One text per language, for values that end up in amoCRM (tag names, task texts).
///
/// These are user data that the account owner may edit, so they live in the settings and not
/// in `i18n/`; the defaults are the product's suggested wording.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Localized {
    pub ru: String,
    pub en: String,
    pub es: String,
    pub pt: String,
}

impl Localized {
    /// Builds a value from its four texts.
    pub fn new(ru: &str, en: &str, es: &str, pt: &str) -> Localized {
        Localized {
            ru: ru.to_owned(),
            en: en.to_owned(),
            es: es.to_owned(),
            pt: pt.to_owned(),
        }
    }

    /// The text for `lang`, or the English text when that one is empty.
    pub fn get(&self, lang: Lang) -> &str {
        let text = match lang {
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
            Lang::Es => &self.es,
            Lang::Pt => &self.pt,
        };
        if text.trim().is_empty() {
            &self.en
        } else {
            text
        }
    }

    /// The languages whose text is empty or only whitespace.
    pub fn missing(&self) -> impl Iterator<Item = Lang> + '_ {
        Lang::ALL.into_iter().filter(|&lang| {
            let text = match lang {
                Lang::Ru => &self.ru,
                Lang::En => &self.en,
                Lang::Es => &self.es,
                Lang::Pt => &self.pt,
            };
            text.trim().is_empty()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_languages() {
        assert_eq!(Lang::from_code("ru"), Lang::Ru);
        assert_eq!(Lang::from_code("ru-RU"), Lang::Ru);
        assert_eq!(Lang::from_code("pt_BR"), Lang::Pt);
        assert_eq!(Lang::from_code("ES"), Lang::Es);
        assert_eq!(Lang::from_code("de"), Lang::En);
        assert_eq!(Lang::from_code(""), Lang::En);
        for lang in Lang::ALL {
            assert_eq!(Lang::from_code(lang.code()), lang);
        }
    }

    #[test]
    fn empty_texts_fall_back_to_english() {
        let text = Localized::new("Завис", "Stuck", " ", "");
        assert_eq!(text.get(Lang::Ru), "Завис");
        assert_eq!(text.get(Lang::Es), "Stuck");
        assert_eq!(text.get(Lang::Pt), "Stuck");
        assert_eq!(text.missing().collect::<Vec<_>>(), [Lang::Es, Lang::Pt]);
    }
}
