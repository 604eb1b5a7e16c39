//! The refusal picker in the lead card: the "Refuse" action, the account's loss reasons with a comment, progress, what failed and the result.
//!
//! `view` decides what to show (pure, tested natively); `draw` puts it into the picker's element
//! with `textContent` only, so a reason named `<b>x</b>` shows as those characters.

use leakguard_core::refusal::RefusalStep;
use leakguard_core::text::interpolate;
use wasm_bindgen::JsValue;
use web_sys::Element;

use super::card::error_text;
use super::Texts;
use crate::dom::{self, Listener};
use crate::effects::http::HttpError;

/// What the picker is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Picker {
    /// Nothing to offer: a new card, or a deal already closed.
    Hidden,
    /// The "Refuse" action, closed.
    Idle,
    /// The loss reasons are being read.
    Loading,
    /// The reasons could not be read.
    LoadFailed(HttpError),
    /// The reasons to choose from; `required` when a move to "lost" waits for one.
    Choose {
        reasons: Vec<(u64, String)>,
        required: bool,
    },
    /// The refusal's requests are running.
    Running,
    /// A step failed: the steps done so far and why; the refusal can be resumed.
    Failed {
        done: Vec<RefusalStep>,
        error: HttpError,
    },
    /// The refusal is complete.
    Done { reason: String, due: String },
}

/// What the manager can do in the picker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickerEvent {
    Open,
    Choose(u64),
    Cancel,
    Retry,
}

/// One element to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A line of text with its class suffix (`leakguard-refusal__<class>`).
    Line(&'static str, String),
    /// The comment field.
    Comment(String),
    /// A button with its label.
    Button(PickerEvent, String),
}

/// Everything the picker shows for one state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// The `data-state` of the picker, stable for tests and styles.
    pub state: &'static str,
    pub items: Vec<Item>,
}

/// The i18n key naming a step, for "done so far".
fn step_key(step: RefusalStep) -> &'static str {
    match step {
        RefusalStep::PatchLead => "ui.refusal.step_lost",
        RefusalStep::CreateTask => "ui.refusal.step_task",
        RefusalStep::AddNote => "ui.refusal.step_note",
        RefusalStep::CreateCopy => "ui.refusal.step_copy",
        RefusalStep::AddCopyNote => "ui.refusal.step_copy_note",
    }
}

/// Decides what the picker shows.
pub fn view(picker: &Picker, texts: &impl Texts) -> View {
    let text = |key: &str| texts.text(key);
    let button = |event, key: &str| Item::Button(event, text(key));
    let (state, items) = match picker {
        Picker::Hidden => ("hidden", Vec::new()),
        Picker::Idle => ("idle", vec![button(PickerEvent::Open, "ui.refusal.action")]),
        Picker::Loading => (
            "loading",
            vec![Item::Line("hint", text("ui.refusal.loading"))],
        ),
        Picker::LoadFailed(error) => (
            "load-failed",
            vec![
                Item::Line("error", error_text(*error, texts)),
                button(PickerEvent::Retry, "ui.error.retry"),
                button(PickerEvent::Cancel, "ui.refusal.cancel"),
            ],
        ),
        Picker::Choose { reasons, required } => {
            let mut items = vec![Item::Line("title", text("ui.refusal.title"))];
            if *required {
                items.push(Item::Line("hint", text("ui.refusal.required")));
            }
            if reasons.is_empty() {
                items.push(Item::Line("error", text("ui.refusal.no_reasons")));
            }
            items.push(Item::Comment(text("ui.refusal.comment")));
            items.extend(
                reasons
                    .iter()
                    .map(|(id, name)| Item::Button(PickerEvent::Choose(*id), name.clone())),
            );
            items.push(button(PickerEvent::Cancel, "ui.refusal.cancel"));
            ("choose", items)
        }
        Picker::Running => (
            "running",
            vec![Item::Line("hint", text("ui.refusal.running"))],
        ),
        Picker::Failed { done, error } => {
            let mut items = vec![Item::Line("error", error_text(*error, texts))];
            let done: Vec<String> = done.iter().map(|step| text(step_key(*step))).collect();
            items.push(Item::Line(
                "done",
                if done.is_empty() {
                    text("ui.refusal.nothing_done")
                } else {
                    interpolate(
                        &text("ui.refusal.done_so_far"),
                        &[("steps", &done.join(", "))],
                    )
                },
            ));
            items.push(button(PickerEvent::Retry, "ui.refusal.retry"));
            ("failed", items)
        }
        Picker::Done { reason, due } => (
            "done",
            vec![Item::Line(
                "result",
                interpolate(
                    &text("ui.refusal.done"),
                    &[("reason", reason), ("date", due)],
                ),
            )],
        ),
    };
    View { state, items }
}

/// Replaces the picker's content with `view`; `on_event` runs for its buttons with the comment typed.
///
/// The returned listeners belong to the drawing: keep them exactly as long as it.
pub fn draw(
    root: &Element,
    view: &View,
    on_event: impl Fn(PickerEvent, String) + 'static,
) -> Result<Vec<Listener>, JsValue> {
    root.set_attribute("data-state", view.state)?;
    root.set_text_content(None);
    let on_event = std::rc::Rc::new(on_event);
    let mut comment: Option<web_sys::HtmlInputElement> = None;
    let mut listeners = Vec::new();
    for item in &view.items {
        match item {
            Item::Line(class, text) => {
                let line = dom::element("p", &format!("leakguard-refusal__{class}"))?;
                line.set_text_content(Some(text));
                root.append_child(&line)?;
            }
            Item::Comment(placeholder) => {
                let input = dom::element("input", "leakguard-refusal__comment")?;
                input.set_attribute("type", "text")?;
                input.set_attribute("placeholder", placeholder)?;
                input.set_attribute("aria-label", placeholder)?;
                root.append_child(&input)?;
                comment = wasm_bindgen::JsCast::dyn_into(input).ok();
            }
            Item::Button(event, label) => {
                let class = match event {
                    PickerEvent::Choose(_) => "leakguard-refusal__reason",
                    PickerEvent::Open => "leakguard-refusal__open",
                    PickerEvent::Cancel => "leakguard-refusal__cancel",
                    PickerEvent::Retry => "leakguard-refusal__retry",
                };
                let button = dom::element("button", &format!("leakguard-card__button {class}"))?;
                button.set_attribute("type", "button")?;
                if let PickerEvent::Choose(id) = event {
                    button.set_attribute("data-reason-id", &id.to_string())?;
                }
                button.set_text_content(Some(label));
                root.append_child(&button)?;
                let (event, on_event, comment) = (*event, on_event.clone(), comment.clone());
                listeners.push(dom::on_click(&button, move || {
                    let typed = comment.as_ref().map(|c| c.value()).unwrap_or_default();
                    on_event(event, typed);
                }));
            }
        }
    }
    Ok(listeners)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys as texts, so the tests see which text was chosen.
    struct Keys;

    impl Texts for Keys {
        fn text(&self, key: &str) -> String {
            match key {
                "ui.refusal.done_so_far" => "done: {steps}".into(),
                "ui.refusal.done" => "lost: {reason}, follow-up {date}".into(),
                key => key.into(),
            }
        }

        fn date(&self, unix_seconds: i64) -> String {
            format!("@{unix_seconds}")
        }
    }

    #[test]
    fn reasons_are_buttons_in_order_after_the_comment_and_html_stays_text() {
        let picker = Picker::Choose {
            reasons: vec![(7, "<b>x</b>".into()), (3, "Дорого".into())],
            required: true,
        };
        let view = view(&picker, &Keys);
        assert_eq!(view.state, "choose");
        assert_eq!(
            view.items,
            vec![
                Item::Line("title", "ui.refusal.title".into()),
                Item::Line("hint", "ui.refusal.required".into()),
                Item::Comment("ui.refusal.comment".into()),
                Item::Button(PickerEvent::Choose(7), "<b>x</b>".into()),
                Item::Button(PickerEvent::Choose(3), "Дорого".into()),
                Item::Button(PickerEvent::Cancel, "ui.refusal.cancel".into()),
            ]
        );
    }

    #[test]
    fn an_account_without_reasons_says_so() {
        let picker = Picker::Choose {
            reasons: Vec::new(),
            required: false,
        };
        let items = view(&picker, &Keys).items;
        assert!(items.contains(&Item::Line("error", "ui.refusal.no_reasons".into())));
        assert!(!items.contains(&Item::Line("hint", "ui.refusal.required".into())));
    }

    #[test]
    fn a_failure_says_what_was_done_and_offers_retry() {
        let failed = Picker::Failed {
            done: vec![RefusalStep::PatchLead],
            error: HttpError::Status(502),
        };
        let items = view(&failed, &Keys).items;
        assert_eq!(
            items[1],
            Item::Line("done", "done: ui.refusal.step_lost".into())
        );
        assert_eq!(
            items[2],
            Item::Button(PickerEvent::Retry, "ui.refusal.retry".into())
        );
        let nothing = Picker::Failed {
            done: Vec::new(),
            error: HttpError::Network,
        };
        assert_eq!(
            view(&nothing, &Keys).items[1],
            Item::Line("done", "ui.refusal.nothing_done".into())
        );
    }

    #[test]
    fn closed_deals_show_nothing_and_the_result_names_reason_and_date() {
        assert!(view(&Picker::Hidden, &Keys).items.is_empty());
        let done = Picker::Done {
            reason: "Дорого".into(),
            due: "1 Dec".into(),
        };
        assert_eq!(
            view(&done, &Keys).items,
            vec![Item::Line("result", "lost: Дорого, follow-up 1 Dec".into())]
        );
    }
}
