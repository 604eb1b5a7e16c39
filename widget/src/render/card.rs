//! The lead-card view: the deal's next-step status in the right column.
//!
//! `view` decides the lines to show (pure, tested natively); `draw` puts them into our root with `textContent`.
//! A deal the guard holds offers a button that opens the next-step dialog.

use leakguard_core::tasks::{NextStep, OpenTask};
use leakguard_core::text::interpolate;
use wasm_bindgen::JsValue;
use web_sys::Element;

use super::Texts;
use crate::dom::{self, Listener};
use crate::effects::http::HttpError;

/// What the panel is showing.
#[derive(Clone, Debug, PartialEq)]
pub enum Panel {
    /// A new, unsaved deal: there is nothing to ask amoCRM yet.
    NewCard,
    /// The open tasks are being requested.
    Loading,
    /// The core's decision about the deal's next step.
    Ready(NextStep),
    /// The tasks could not be read.
    Failed(HttpError),
}

/// One line of the panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The element class (`leakguard-card__<kind>`).
    pub class: &'static str,
    pub text: String,
    /// Whether the line asks for the manager's attention.
    pub alert: bool,
}

/// Everything the panel shows for one state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// The `data-state` of the root, stable for tests and styles.
    pub state: &'static str,
    /// The deadline shown, as a Unix timestamp (`data-due`).
    pub due: Option<i64>,
    pub lines: Vec<Line>,
    /// The button the state offers, with its label.
    pub button: Option<(PanelButton, String)>,
}

/// The panel's one button.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelButton {
    /// Check the tasks again.
    Retry,
    /// Open the next-step dialog.
    Plan,
}

fn line(class: &'static str, text: String) -> Line {
    Line {
        class,
        text,
        alert: false,
    }
}

fn alert(class: &'static str, text: String) -> Line {
    Line {
        class,
        text,
        alert: true,
    }
}

/// Decides what the panel shows for `panel`; `offer_plan` adds the button that opens the dialog
/// (the guard holds this deal for this manager).
pub fn view(panel: &Panel, offer_plan: bool, texts: &impl Texts) -> View {
    let plain = |state, lines| View {
        state,
        due: None,
        lines,
        button: None,
    };
    match panel {
        Panel::NewCard => plain(
            "new",
            vec![line("leakguard-card__hint", texts.text("ui.card.new_card"))],
        ),
        Panel::Loading => plain(
            "loading",
            vec![line("leakguard-card__hint", texts.text("ui.card.loading"))],
        ),
        Panel::Ready(NextStep::Closed { won: true }) => plain(
            "closed-won",
            vec![line(
                "leakguard-card__status",
                texts.text("ui.card.closed_won"),
            )],
        ),
        Panel::Ready(NextStep::Closed { won: false }) => plain(
            "closed-lost",
            vec![line(
                "leakguard-card__status",
                texts.text("ui.card.closed_lost"),
            )],
        ),
        Panel::Ready(NextStep::Missing) => View {
            button: offer_plan.then(|| (PanelButton::Plan, texts.text("ui.card.plan"))),
            ..plain(
                "missing",
                vec![
                    alert("leakguard-card__step", texts.text("ui.card.no_next_step")),
                    line(
                        "leakguard-card__hint",
                        texts.text("ui.card.no_next_step_hint"),
                    ),
                ],
            )
        },
        Panel::Ready(NextStep::Scheduled { task, others }) => {
            task_view("scheduled", task, *others, texts)
        }
        Panel::Ready(NextStep::Overdue { task, others }) => {
            task_view("overdue", task, *others, texts)
        }
        Panel::Failed(error) => View {
            state: "error",
            due: None,
            lines: vec![alert("leakguard-card__error", error_text(*error, texts))],
            button: Some((PanelButton::Retry, texts.text("ui.error.retry"))),
        },
    }
}

fn task_view(state: &'static str, task: &OpenTask, others: usize, texts: &impl Texts) -> View {
    let overdue = state == "overdue";
    let name = match task.text.trim() {
        "" => texts.text("ui.card.untitled_task"),
        text => text.to_owned(),
    };
    let date = texts.date(task.complete_till);
    let deadline = |key| interpolate(&texts.text(key), &[("date", &date)]);
    let due = if overdue {
        alert("leakguard-card__due", deadline("ui.card.overdue_since"))
    } else {
        line("leakguard-card__due", deadline("ui.card.due"))
    };
    let mut lines = vec![
        line(
            "leakguard-card__step",
            interpolate(&texts.text("ui.card.next_step"), &[("text", &name)]),
        ),
        due,
    ];
    if others > 0 {
        let count = others.to_string();
        lines.push(line(
            "leakguard-card__more",
            interpolate(&texts.text("ui.card.more_tasks"), &[("count", &count)]),
        ));
    }
    View {
        state,
        due: Some(task.complete_till),
        lines,
        button: None,
    }
}

/// The message for a failed request, by what went wrong.
pub(crate) fn error_text(error: HttpError, texts: &impl Texts) -> String {
    match error {
        HttpError::Network => texts.text("ui.error.network"),
        HttpError::Malformed => texts.text("ui.error.malformed"),
        HttpError::Status(401) => texts.text("ui.error.unauthorized"),
        HttpError::Status(403) => texts.text("ui.error.forbidden"),
        HttpError::Status(429) => texts.text("ui.error.rate_limited"),
        HttpError::Status(status) => interpolate(
            &texts.text("ui.error.http"),
            &[("status", &status.to_string())],
        ),
    }
}

/// Replaces the content of `root` with `view`; `on_button` runs when its button is clicked.
///
/// The returned listener belongs to the drawn button: keep it exactly as long as the drawing.
pub fn draw(
    root: &Element,
    view: &View,
    mut on_button: impl FnMut(PanelButton) + 'static,
) -> Result<Option<Listener>, JsValue> {
    root.set_class_name(&format!("leakguard-card leakguard-card--{}", view.state));
    root.set_attribute("data-state", view.state)?;
    match view.due {
        Some(due) => root.set_attribute("data-due", &due.to_string())?,
        None => root.remove_attribute("data-due")?,
    }
    root.set_text_content(None);
    for line in &view.lines {
        let class = if line.alert {
            format!(
                "leakguard-card__line {} leakguard-card__line--alert",
                line.class
            )
        } else {
            format!("leakguard-card__line {}", line.class)
        };
        let element = dom::element("p", &class)?;
        element.set_text_content(Some(&line.text));
        root.append_child(&element)?;
    }
    let Some((kind, label)) = view.button.clone() else {
        return Ok(None);
    };
    let class = match kind {
        PanelButton::Retry => "leakguard-card__button leakguard-card__retry",
        PanelButton::Plan => "leakguard-card__button leakguard-card__plan",
    };
    let button = dom::element("button", class)?;
    button.set_attribute("type", "button")?;
    button.set_text_content(Some(&label));
    root.append_child(&button)?;
    Ok(Some(dom::on_click(&button, move || on_button(kind))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// English texts as in `i18n/en.json`, and dates shown as `@<timestamp>`.
    struct English;

    impl Texts for English {
        fn text(&self, key: &str) -> String {
            match key {
                "ui.card.loading" => "Loading tasks…",
                "ui.card.next_step" => "Next step: {text}",
                "ui.card.due" => "due {date}",
                "ui.card.overdue_since" => "overdue since {date}",
                "ui.card.no_next_step" => "No next step",
                "ui.card.no_next_step_hint" => "This deal has no open task.",
                "ui.card.untitled_task" => "Task without text",
                "ui.card.more_tasks" => "more open tasks: {count}",
                "ui.card.closed_won" => "won",
                "ui.card.closed_lost" => "lost",
                "ui.card.new_card" => "Save the deal.",
                "ui.error.http" => "amoCRM answered with error {status}.",
                "ui.error.retry" => "Retry",
                "ui.card.plan" => "Schedule the next step",
                other => other,
            }
            .to_owned()
        }

        fn date(&self, unix_seconds: i64) -> String {
            format!("@{unix_seconds}")
        }
    }

    fn task(text: &str, complete_till: i64) -> OpenTask {
        OpenTask {
            id: 1,
            text: text.to_owned(),
            complete_till,
            task_type_id: 1,
            responsible_user_id: 7,
        }
    }

    fn texts(view: &View) -> Vec<(&str, &str, bool)> {
        view.lines
            .iter()
            .map(|l| (l.class, l.text.as_str(), l.alert))
            .collect()
    }

    #[test]
    fn scheduled_task_shows_its_text_and_deadline() {
        let v = view(
            &Panel::Ready(NextStep::Scheduled {
                task: task("Call back", 1_700_000_000),
                others: 0,
            }),
            false,
            &English,
        );
        assert_eq!(v.state, "scheduled");
        assert_eq!(v.due, Some(1_700_000_000));
        assert_eq!(
            texts(&v),
            [
                ("leakguard-card__step", "Next step: Call back", false),
                ("leakguard-card__due", "due @1700000000", false),
            ]
        );
        assert_eq!(v.button, None);
    }

    #[test]
    fn overdue_task_highlights_the_deadline_and_counts_the_others() {
        let v = view(
            &Panel::Ready(NextStep::Overdue {
                task: task("  ", 100),
                others: 2,
            }),
            false,
            &English,
        );
        assert_eq!(v.state, "overdue");
        assert_eq!(
            texts(&v),
            [
                (
                    "leakguard-card__step",
                    "Next step: Task without text",
                    false
                ),
                ("leakguard-card__due", "overdue since @100", true),
                ("leakguard-card__more", "more open tasks: 2", false),
            ]
        );
    }

    #[test]
    fn missing_next_step_is_an_alert_with_a_hint() {
        let v = view(&Panel::Ready(NextStep::Missing), false, &English);
        assert_eq!(v.state, "missing");
        assert_eq!(v.button, None);
        assert_eq!(
            texts(&v),
            [
                ("leakguard-card__step", "No next step", true),
                ("leakguard-card__hint", "This deal has no open task.", false),
            ]
        );
        let held = view(&Panel::Ready(NextStep::Missing), true, &English);
        assert_eq!(
            held.button,
            Some((PanelButton::Plan, "Schedule the next step".to_owned()))
        );
    }

    #[test]
    fn closed_deals_say_won_or_lost() {
        assert_eq!(
            view(
                &Panel::Ready(NextStep::Closed { won: true }),
                true,
                &English
            )
            .state,
            "closed-won"
        );
        let lost = view(
            &Panel::Ready(NextStep::Closed { won: false }),
            true,
            &English,
        );
        assert_eq!(
            (lost.state, lost.lines[0].text.as_str()),
            ("closed-lost", "lost")
        );
    }

    #[test]
    fn failures_name_the_cause_and_offer_a_retry() {
        let cases = [
            (HttpError::Network, "ui.error.network"),
            (HttpError::Malformed, "ui.error.malformed"),
            (HttpError::Status(401), "ui.error.unauthorized"),
            (HttpError::Status(403), "ui.error.forbidden"),
            (HttpError::Status(429), "ui.error.rate_limited"),
            (HttpError::Status(502), "amoCRM answered with error 502."),
        ];
        for (error, text) in cases {
            let v = view(&Panel::Failed(error), false, &English);
            assert_eq!(v.state, "error");
            assert_eq!(
                texts(&v),
                [("leakguard-card__error", text, true)],
                "{error:?}"
            );
            assert_eq!(v.button, Some((PanelButton::Retry, "Retry".to_owned())));
        }
    }

    #[test]
    fn new_card_and_loading_are_plain_hints() {
        assert_eq!(
            texts(&view(&Panel::NewCard, false, &English)),
            [("leakguard-card__hint", "Save the deal.", false)]
        );
        assert_eq!(view(&Panel::Loading, false, &English).state, "loading");
    }
}
