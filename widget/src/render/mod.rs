//! Views per amoCRM location: a pure description of what to show, then a small function that draws it.

pub mod card;
pub mod dialog;
pub mod refusal;

/// What a view needs from its surroundings: the language file and the account's clock face.
pub trait Texts {
    /// The text of a dotted `ui.*` key in the user's language.
    fn text(&self, key: &str) -> String;

    /// A Unix timestamp as a date and time in the account's timezone.
    fn date(&self, unix_seconds: i64) -> String;
}
