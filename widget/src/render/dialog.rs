//! The next-step dialog: why the manager is held, and a one-click task form with deadline presets.
//!
//! `view` decides what the dialog shows (pure, tested natively); `draw` builds it with `textContent`
//! inside one overlay that stays while its content is redrawn. The dialog is `role="dialog"` and
//! `aria-modal`, labelled by its title, keeps the focus inside and closes on Escape without leaving the card.

use leakguard_core::text::interpolate;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement, KeyboardEvent};

use super::card::error_text;
use super::Texts;
use crate::dom::{self, Listener, Owned};
use crate::effects::http::HttpError;
use crate::host::Choice;

/// Why the dialog is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// An in-app exit was held.
    Leaving,
    /// A stage change inside the card was reverted.
    StageChange,
    /// The deal's last open task was just completed.
    LastTaskDone,
    /// The manager came back after leaving with browser Back.
    Returned,
    /// The manager asked for it from the panel.
    Manual,
}

impl Reason {
    fn code(self) -> &'static str {
        match self {
            Reason::Leaving => "leaving",
            Reason::StageChange => "stage",
            Reason::LastTaskDone => "last-task-done",
            Reason::Returned => "returned",
            Reason::Manual => "manual",
        }
    }
}

/// What the dialog is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The open tasks are being checked.
    Checking,
    /// The check failed (fail-closed): retry, or leave anyway.
    Failed(HttpError),
    /// The deal has no open task: the task form.
    Form,
}

/// The dialog's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DialogState {
    pub reason: Reason,
    pub mode: Mode,
    /// A held exit or stage change waits for the dialog (so "leave anyway" has something to let through).
    pub interrupted: bool,
    /// A task is being created.
    pub creating: bool,
    /// The last creation failed with this error.
    pub create_error: Option<HttpError>,
}

/// A deadline preset, computed for now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetChoice {
    pub label_key: String,
    pub working_days: u32,
    /// Unix seconds.
    pub deadline: i64,
    /// The deadline as shown (weekday, date and time in the account's zone).
    pub when: String,
}

/// What the form offers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormChoices {
    pub presets: Vec<PresetChoice>,
    pub task_types: Vec<Choice>,
    pub users: Vec<Choice>,
}

/// What the manager has chosen in the form so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormValues {
    pub task_type: u64,
    pub text: String,
    pub responsible: u64,
}

/// A button below the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Retry,
    LeaveAnyway,
    /// "The client refused": the refusal picker, a legitimate end of the deal.
    Refused,
}

/// The form part of the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormView {
    pub presets_label: String,
    /// `(deadline, button text)`.
    pub presets: Vec<(i64, String)>,
    pub type_label: String,
    pub task_types: Vec<Choice>,
    pub task_type: u64,
    pub text_label: String,
    pub text_placeholder: String,
    pub text: String,
    pub responsible_label: String,
    pub users: Vec<Choice>,
    pub responsible: u64,
    /// The form is disabled while a task is being created.
    pub busy: bool,
}

/// Everything the dialog shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialogView {
    /// `data-mode`: `checking`, `failed`, `form`, `creating`.
    pub mode: &'static str,
    /// `data-reason`.
    pub reason: &'static str,
    pub title: String,
    pub text: String,
    /// A status line: progress, or an error (`alert`).
    pub status: Option<(String, bool)>,
    pub form: Option<FormView>,
    pub actions: Vec<(Action, String)>,
    pub close: String,
}

/// Decides what the dialog shows.
pub fn view(
    state: &DialogState,
    choices: &FormChoices,
    values: &FormValues,
    texts: &impl Texts,
) -> DialogView {
    let t = |key: &str| texts.text(key);
    let (title, text) = match (state.mode, state.reason) {
        (Mode::Checking, _) => (t("ui.guard.checking_title"), t("ui.guard.checking_text")),
        (Mode::Failed(_), _) => (t("ui.guard.failed_title"), t("ui.guard.failed_text")),
        (Mode::Form, Reason::Leaving) => (t("ui.guard.leaving_title"), t("ui.guard.leaving_text")),
        (Mode::Form, Reason::StageChange) => (t("ui.guard.stage_title"), t("ui.guard.stage_text")),
        (Mode::Form, Reason::LastTaskDone) => (t("ui.guard.done_title"), t("ui.guard.done_text")),
        (Mode::Form, Reason::Returned) => {
            (t("ui.guard.returned_title"), t("ui.guard.returned_text"))
        }
        (Mode::Form, Reason::Manual) => (t("ui.guard.manual_title"), t("ui.guard.manual_text")),
    };
    let mut actions = Vec::new();
    let (mode, status, form) = match state.mode {
        Mode::Checking => (
            "checking",
            Some((t("ui.guard.checking_status"), false)),
            None,
        ),
        Mode::Failed(error) => {
            actions.push((Action::Retry, t("ui.error.retry")));
            if state.interrupted {
                actions.push((Action::LeaveAnyway, t("ui.guard.leave_anyway")));
            }
            ("failed", Some((error_text(error, texts), true)), None)
        }
        Mode::Form => {
            actions.push((Action::Refused, t("ui.refusal.client_refused")));
            let status = match (state.creating, state.create_error) {
                (true, _) => Some((t("ui.guard.creating"), false)),
                (false, Some(error)) => Some((
                    interpolate(
                        &t("ui.guard.create_failed"),
                        &[("error", &error_text(error, texts))],
                    ),
                    true,
                )),
                (false, None) => None,
            };
            let presets = choices
                .presets
                .iter()
                .map(|preset| {
                    let count = preset.working_days.to_string();
                    let label = interpolate(&t(&preset.label_key), &[("count", &count)]);
                    let button = interpolate(
                        &t("ui.guard.preset_button"),
                        &[("label", &label), ("when", &preset.when)],
                    );
                    (preset.deadline, button)
                })
                .collect();
            let form = FormView {
                presets_label: t("ui.guard.presets_label"),
                presets,
                type_label: t("ui.guard.type_label"),
                task_types: choices.task_types.clone(),
                task_type: values.task_type,
                text_label: t("ui.guard.text_label"),
                text_placeholder: t("ui.guard.text_placeholder"),
                text: values.text.clone(),
                responsible_label: t("ui.guard.responsible_label"),
                users: choices.users.clone(),
                responsible: values.responsible,
                busy: state.creating,
            };
            (
                if state.creating { "creating" } else { "form" },
                status,
                Some(form),
            )
        }
    };
    DialogView {
        mode,
        reason: state.reason.code(),
        title,
        text,
        status,
        form,
        actions,
        close: t("ui.guard.close"),
    }
}

/// What the drawn dialog reports.
pub struct Handlers {
    /// A preset was clicked: create the task due at this deadline.
    pub preset: Box<dyn Fn(i64)>,
    pub action: Box<dyn Fn(Action)>,
    /// Escape or the close button: close the dialog and stay on the card.
    pub close: Box<dyn Fn()>,
}

/// The dialog on the page: one overlay whose content is redrawn, with its listeners.
#[derive(Debug)]
pub struct DialogDom {
    overlay: Owned,
    dialog: Element,
    /// The element that had the focus before the dialog opened; it gets it back on close.
    restore: Option<HtmlElement>,
    _keys: Listener,
    _focus: Option<Listener>,
    content: Vec<Listener>,
}

const TITLE_ID: &str = "leakguard-dialog-title";
const TEXT_ID: &str = "leakguard-dialog-text";

/// The selector of the elements the focus cycles through.
const FOCUSABLE: &str = "button:not([disabled]), select:not([disabled]), input:not([disabled])";

impl DialogDom {
    /// Opens the overlay; `on_escape` runs on Escape (which never reaches the page).
    pub fn open(on_escape: impl Fn() + 'static) -> Result<DialogDom, JsValue> {
        let document = dom::document().ok_or("no document")?;
        let body = document.body().ok_or("no body")?;
        let restore = document
            .active_element()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok());
        let overlay = dom::element("div", "leakguard-overlay")?;
        let dialog = dom::element("div", "leakguard-dialog")?;
        dialog.set_attribute("role", "dialog")?;
        dialog.set_attribute("aria-modal", "true")?;
        dialog.set_attribute("aria-labelledby", TITLE_ID)?;
        dialog.set_attribute("aria-describedby", TEXT_ID)?;
        dialog.set_attribute("data-leakguard-dialog", "")?;
        overlay.append_child(&dialog)?;
        body.append_child(&overlay)?;
        let trap = dialog.clone();
        let keys = dom::on(&dialog, "keydown", move |event| {
            let Some(key) = event.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            match key.key().as_str() {
                "Escape" | "Esc" => {
                    key.prevent_default();
                    key.stop_propagation();
                    on_escape();
                }
                "Tab" => cycle_focus(&trap, key),
                _ => {}
            }
        });
        let inside = dialog.clone();
        // Focus that wanders out of the dialog (a click on the page behind, a script) comes back.
        let focus = dom::on_capture(&document, "focusin", move |event| {
            let outside = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
                .is_some_and(|node| !inside.contains(Some(&node)));
            if outside {
                if let Some(first) = focusables(&inside).first() {
                    let _ = first.focus();
                }
            }
        });
        Ok(DialogDom {
            overlay: Owned::new(overlay),
            dialog,
            restore,
            _keys: keys,
            _focus: Some(focus),
            content: Vec::new(),
        })
    }

    /// What the form controls hold now.
    pub fn values(&self) -> Option<FormValues> {
        let value = |key: &str| -> Option<String> {
            let element = self
                .dialog
                .query_selector(&format!("[data-key=\"{key}\"]"))
                .ok()??;
            js_sys::Reflect::get(&element, &"value".into())
                .ok()?
                .as_string()
        };
        Some(FormValues {
            task_type: value("type")?.parse().ok()?,
            text: value("text")?,
            responsible: value("responsible")?.parse().ok()?,
        })
    }

    /// Replaces the content with `view`, keeping the focus on the same control when it is still there.
    pub fn draw(
        &mut self,
        view: &DialogView,
        handlers: std::rc::Rc<Handlers>,
    ) -> Result<(), JsValue> {
        let focused = dom::document()
            .and_then(|d| d.active_element())
            .filter(|e| self.dialog.contains(Some(e)))
            .and_then(|e| e.get_attribute("data-key"));
        self.content.clear();
        let dialog = &self.dialog;
        dialog.set_text_content(None);
        dialog.set_attribute("data-mode", view.mode)?;
        dialog.set_attribute("data-reason", view.reason)?;
        dialog.set_attribute(
            "aria-busy",
            if view.mode == "creating" || view.mode == "checking" {
                "true"
            } else {
                "false"
            },
        )?;

        let close = button("leakguard-dialog__close", "close", "×")?;
        close.set_attribute("aria-label", &view.close)?;
        close.set_attribute("title", &view.close)?;
        dialog.append_child(&close)?;
        let h = handlers.clone();
        self.content
            .push(dom::on_click(&close, move || (h.close)()));

        let title = text("h2", "leakguard-dialog__title", &view.title)?;
        title.set_id(TITLE_ID);
        dialog.append_child(&title)?;
        let text_line = text("p", "leakguard-dialog__text", &view.text)?;
        text_line.set_id(TEXT_ID);
        dialog.append_child(&text_line)?;

        if let Some(form) = &view.form {
            let listeners = draw_form(dialog, form, &handlers)?;
            self.content.extend(listeners);
        }
        if let Some((line, alert)) = &view.status {
            let status = text("p", "leakguard-dialog__status", line)?;
            status.set_attribute("role", if *alert { "alert" } else { "status" })?;
            if *alert {
                status
                    .class_list()
                    .add_1("leakguard-dialog__status--alert")?;
            }
            dialog.append_child(&status)?;
        }
        if !view.actions.is_empty() {
            let row = dom::element("div", "leakguard-dialog__actions")?;
            for (action, label) in &view.actions {
                let (class, key) = match action {
                    Action::Retry => ("leakguard-dialog__retry", "retry"),
                    Action::LeaveAnyway => ("leakguard-dialog__leave", "leave"),
                    Action::Refused => ("leakguard-dialog__refused", "refused"),
                };
                let element = button(class, key, label)?;
                row.append_child(&element)?;
                let (h, action) = (handlers.clone(), *action);
                self.content
                    .push(dom::on_click(&element, move || (h.action)(action)));
            }
            dialog.append_child(&row)?;
        }
        let target = focused
            .and_then(|key| {
                dialog
                    .query_selector(&format!("[data-key=\"{key}\"]"))
                    .ok()
                    .flatten()
            })
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
            .filter(|e| !e.has_attribute("disabled"))
            .or_else(|| focusables(dialog).into_iter().next());
        if let Some(target) = target {
            target.focus()?;
        }
        Ok(())
    }
}

/// Draws the presets and the form fields; answers the presets' listeners.
fn draw_form(
    dialog: &Element,
    form: &FormView,
    handlers: &std::rc::Rc<Handlers>,
) -> Result<Vec<Listener>, JsValue> {
    let mut listeners = Vec::new();
    let group = dom::element("div", "leakguard-dialog__presets")?;
    group.set_attribute("role", "group")?;
    group.set_attribute("aria-label", &form.presets_label)?;
    add(
        &group,
        text("span", "leakguard-dialog__label", &form.presets_label),
    )?;
    for (i, (deadline, label)) in form.presets.iter().enumerate() {
        let preset = button("leakguard-dialog__preset", &format!("preset-{i}"), label)?;
        preset.set_attribute("data-deadline", &deadline.to_string())?;
        if form.busy {
            preset.set_attribute("disabled", "")?;
        }
        group.append_child(&preset)?;
        let (h, deadline) = (handlers.clone(), *deadline);
        listeners.push(dom::on_click(&preset, move || (h.preset)(deadline)));
    }
    dialog.append_child(&group)?;

    let fields = dom::element("div", "leakguard-dialog__fields")?;
    let select =
        |label: &str, key: &str, choices: &[Choice], selected: u64| -> Result<Element, JsValue> {
            let field = dom::element("label", "leakguard-dialog__field")?;
            add(&field, text("span", "leakguard-dialog__label", label))?;
            let control = dom::element("select", "leakguard-dialog__control")?;
            control.set_attribute("data-key", key)?;
            for choice in choices {
                let option = text("option", "", &choice.name)?;
                option.set_attribute("value", &choice.id.to_string())?;
                if choice.id == selected {
                    option.set_attribute("selected", "")?;
                }
                control.append_child(&option)?;
            }
            if form.busy {
                control.set_attribute("disabled", "")?;
            }
            field.append_child(&control)?;
            Ok(field)
        };
    add(
        &fields,
        select(&form.type_label, "type", &form.task_types, form.task_type),
    )?;
    let field = dom::element(
        "label",
        "leakguard-dialog__field leakguard-dialog__field--wide",
    )?;
    add(
        &field,
        text("span", "leakguard-dialog__label", &form.text_label),
    )?;
    let input = dom::element("input", "leakguard-dialog__control")?;
    input.set_attribute("type", "text")?;
    input.set_attribute("data-key", "text")?;
    input.set_attribute("placeholder", &form.text_placeholder)?;
    input.set_attribute("maxlength", "500")?;
    js_sys::Reflect::set(&input, &"value".into(), &form.text.as_str().into())?;
    if form.busy {
        input.set_attribute("disabled", "")?;
    }
    field.append_child(&input)?;
    fields.append_child(&field)?;
    add(
        &fields,
        select(
            &form.responsible_label,
            "responsible",
            &form.users,
            form.responsible,
        ),
    )?;
    dialog.append_child(&fields)?;
    Ok(listeners)
}

impl Drop for DialogDom {
    fn drop(&mut self) {
        // The overlay goes first (`Owned`), then the focus returns to where it was.
        self.content.clear();
        self._focus = None;
        self.overlay.element().remove();
        if let Some(restore) = self.restore.take().filter(|e| e.is_connected()) {
            let _ = restore.focus();
        }
    }
}

/// Appends a freshly built child.
fn add(parent: &Element, child: Result<Element, JsValue>) -> Result<(), JsValue> {
    let child: web_sys::Node = child?.into();
    parent.append_child(&child).map(drop)
}

fn text(tag: &str, class: &str, content: &str) -> Result<Element, JsValue> {
    let element = dom::element(tag, class)?;
    element.set_text_content(Some(content));
    Ok(element)
}

fn button(class: &str, key: &str, label: &str) -> Result<Element, JsValue> {
    let element = text("button", class, label)?;
    element.set_attribute("type", "button")?;
    element.set_attribute("data-key", key)?;
    Ok(element)
}

/// The controls the focus may land on, in document order.
fn focusables(container: &Element) -> Vec<HtmlElement> {
    let Ok(list) = container.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
        .collect()
}

/// Keeps Tab and Shift+Tab inside the dialog: past the last control comes the first, and back.
fn cycle_focus(container: &Element, key: &KeyboardEvent) {
    let controls = focusables(container);
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
        key.prevent_default();
        return;
    };
    let active = dom::document().and_then(|d| d.active_element());
    let at = |e: &HtmlElement| active.as_ref() == Some(e.unchecked_ref::<Element>());
    let inside = active.as_ref().is_some_and(|a| container.contains(Some(a)));
    if key.shift_key() && (at(first) || !inside) {
        key.prevent_default();
        let _ = last.focus();
    } else if !key.shift_key() && (at(last) || !inside) {
        key.prevent_default();
        let _ = first.focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct English;

    impl Texts for English {
        fn text(&self, key: &str) -> String {
            match key {
                "ui.guard.leaving_title" => "This deal has no next step",
                "ui.guard.done_title" => "That was the last open task",
                "ui.guard.checking_title" => "Checking the deal's tasks",
                "ui.guard.checking_status" => "Checking…",
                "ui.guard.failed_title" => "The tasks could not be checked",
                "ui.guard.leave_anyway" => "I understand, leave anyway",
                "ui.guard.preset_button" => "{label} · {when}",
                "ui.guard.creating" => "Creating the task…",
                "ui.guard.create_failed" => "The task was not created: {error}",
                "ui.preset.tomorrow" => "Tomorrow",
                "ui.preset.in_working_days" => "In {count} working days",
                "ui.error.retry" => "Retry",
                "ui.error.http" => "amoCRM answered with error {status}.",
                "ui.error.network" => "Cannot reach amoCRM.",
                other => other,
            }
            .to_owned()
        }

        fn date(&self, unix_seconds: i64) -> String {
            format!("@{unix_seconds}")
        }
    }

    fn state(reason: Reason, mode: Mode) -> DialogState {
        DialogState {
            reason,
            mode,
            interrupted: true,
            creating: false,
            create_error: None,
        }
    }

    fn choices() -> FormChoices {
        FormChoices {
            presets: vec![
                PresetChoice {
                    label_key: "ui.preset.tomorrow".into(),
                    working_days: 1,
                    deadline: 100,
                    when: "Mon 10:00".into(),
                },
                PresetChoice {
                    label_key: "ui.preset.in_working_days".into(),
                    working_days: 3,
                    deadline: 300,
                    when: "Wed 10:00".into(),
                },
            ],
            task_types: vec![Choice {
                id: 1,
                name: "Follow-up".into(),
            }],
            users: vec![Choice {
                id: 7,
                name: "Anna".into(),
            }],
        }
    }

    fn values() -> FormValues {
        FormValues {
            task_type: 1,
            text: String::new(),
            responsible: 7,
        }
    }

    #[test]
    fn the_form_offers_presets_with_their_deadlines() {
        let v = view(
            &state(Reason::Leaving, Mode::Form),
            &choices(),
            &values(),
            &English,
        );
        assert_eq!((v.mode, v.reason), ("form", "leaving"));
        assert_eq!(v.title, "This deal has no next step");
        let form = v.form.expect("a form");
        assert_eq!(
            form.presets,
            [
                (100, "Tomorrow · Mon 10:00".to_owned()),
                (300, "In 3 working days · Wed 10:00".to_owned())
            ]
        );
        assert_eq!((form.task_type, form.responsible, form.busy), (1, 7, false));
        assert_eq!(v.status, None);
        // The form always offers the refusal picker: "the client refused" ends a deal legitimately.
        let actions: Vec<Action> = v.actions.iter().map(|(action, _)| *action).collect();
        assert_eq!(actions, [Action::Refused]);
    }

    #[test]
    fn creating_disables_the_form_and_a_failure_says_why() {
        let mut s = state(Reason::LastTaskDone, Mode::Form);
        s.creating = true;
        let v = view(&s, &choices(), &values(), &English);
        assert_eq!((v.mode, v.reason), ("creating", "last-task-done"));
        assert_eq!(v.title, "That was the last open task");
        assert!(v.form.unwrap().busy);
        assert_eq!(v.status, Some(("Creating the task…".into(), false)));
        s.creating = false;
        s.create_error = Some(HttpError::Status(502));
        let v = view(&s, &choices(), &values(), &English);
        assert_eq!(
            v.status,
            Some((
                "The task was not created: amoCRM answered with error 502.".into(),
                true
            ))
        );
    }

    #[test]
    fn a_failed_check_offers_retry_and_leave_anyway_only_when_something_waits() {
        let v = view(
            &state(Reason::Leaving, Mode::Failed(HttpError::Network)),
            &choices(),
            &values(),
            &English,
        );
        assert_eq!(v.mode, "failed");
        assert_eq!(v.status, Some(("Cannot reach amoCRM.".into(), true)));
        assert_eq!(
            v.actions,
            [
                (Action::Retry, "Retry".to_owned()),
                (Action::LeaveAnyway, "I understand, leave anyway".to_owned())
            ]
        );
        assert!(v.form.is_none());
        let mut nothing_waits = state(Reason::Returned, Mode::Failed(HttpError::Network));
        nothing_waits.interrupted = false;
        let v = view(&nothing_waits, &choices(), &values(), &English);
        assert_eq!(v.actions, [(Action::Retry, "Retry".to_owned())]);
    }

    #[test]
    fn checking_shows_progress_only() {
        let v = view(
            &state(Reason::StageChange, Mode::Checking),
            &choices(),
            &values(),
            &English,
        );
        assert_eq!((v.mode, v.reason), ("checking", "stage"));
        assert_eq!(v.title, "Checking the deal's tasks");
        assert_eq!(v.status, Some(("Checking…".into(), false)));
        assert!(v.form.is_none() && v.actions.is_empty());
    }
}
