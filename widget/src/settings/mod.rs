//! The `settings` location: LeakGuard's form inside amoCRM's widget settings modal.
//!
//! The form edits the next-step part of the whole configuration and writes the whole configuration
//! as JSON into the manifest's `custom` field `config` (the hidden `input[name="config"]`), firing
//! `change` so amoCRM enables Save. `onSave` validates with the core and refuses invalid settings.

pub mod form;

use std::cell::RefCell;
use std::rc::Rc;

use leakguard_core::deal::{is_closed_status, StageRef};
use leakguard_core::settings::{
    CalendarSettings, NextStepSettings, Problem, Settings, MAX_PRESETS,
};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlInputElement};

use crate::dom::{self, Listener, Owned};
use crate::effects::http;
use crate::error::Error;
use crate::host::{self, PipelineChoice, Widget};
use crate::render::settings::{draw_form, draw_scope_lists, preset_row, show_problems, show_scope};
use crate::render::Texts;
use form::{FormValues, ScopeMode};

/// The manifest's settings field that holds LeakGuard's configuration.
pub const CONFIG_FIELD: &str = "config";

/// The parts of the stored configuration the widget works with; every other part stays as stored.
///
/// Only these two sections go through serde: deserializing the whole configuration would put the
/// code of every feature's settings into the wasm, which the card does not need.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub next_step: NextStepSettings,
    pub calendar: CalendarSettings,
    /// The stored document, for the sections this widget does not edit.
    stored: Option<js_sys::Object>,
}

/// Reads a stored configuration: empty means the defaults; anything unreadable is an error.
pub fn load(config: &JsValue) -> Result<Config, ()> {
    let value = match config.as_string() {
        Some(text) if text.trim().is_empty() => return Ok(Config::default()),
        Some(text) => js_sys::JSON::parse(&text).map_err(drop)?,
        None if config.is_object() => config.clone(),
        None => return Ok(Config::default()),
    };
    let stored: js_sys::Object = value.dyn_into().map_err(drop)?;
    let section =
        |name: &str| js_sys::Reflect::get(&stored, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let next_step = match section("next_step") {
        value if value.is_undefined() || value.is_null() => NextStepSettings::default(),
        value => serde_wasm_bindgen::from_value(value).map_err(drop)?,
    };
    let calendar = match section("calendar") {
        value if value.is_undefined() || value.is_null() => CalendarSettings::default(),
        value => serde_wasm_bindgen::from_value(value).map_err(drop)?,
    };
    Ok(Config {
        next_step,
        calendar,
        stored: Some(stored),
    })
}

impl Config {
    /// Every problem the core finds in these sections (the others are validated by the forms that edit them).
    pub fn validate(&self) -> Vec<Problem> {
        Settings {
            next_step: self.next_step.clone(),
            calendar: self.calendar.clone(),
            ..Settings::default()
        }
        .validate()
    }

    /// The configuration as the JSON text stored in the `config` field.
    pub fn to_json(&self) -> Option<String> {
        let document = js_sys::Object::assign(
            &js_sys::Object::new(),
            self.stored.as_ref().unwrap_or(&js_sys::Object::new()),
        );
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        let next_step = serde::Serialize::serialize(&self.next_step, &serializer).ok()?;
        js_sys::Reflect::set(&document, &"next_step".into(), &next_step).ok()?;
        if js_sys::Reflect::get(&document, &"version".into())
            .ok()?
            .is_undefined()
        {
            js_sys::Reflect::set(
                &document,
                &"version".into(),
                &Settings::default().version.into(),
            )
            .ok()?;
        }
        js_sys::JSON::stringify(&document).ok().map(String::from)
    }
}

/// The form in the settings modal. Dropping it removes the form and its listeners.
#[derive(Debug)]
pub struct SettingsPage(Rc<Page>);

#[derive(Debug)]
struct Page {
    widget: Widget,
    jquery: JsValue,
    root: Owned,
    input: Element,
    settings: RefCell<Config>,
    listeners: RefCell<Vec<Listener>>,
    request: RefCell<Option<http::InFlight>>,
}

impl SettingsPage {
    /// Draws the form into `#<code>_custom_content`; `None` when the modal has no such field.
    pub fn mount(widget: Widget, jquery: JsValue) -> Result<Option<SettingsPage>, Error> {
        let Some(code) = widget.code() else {
            return Ok(None);
        };
        let document = dom::document().ok_or(Error::NoCardBlock)?;
        let (Some(content), Some(input)) = (
            document.get_element_by_id(&format!("{code}_custom_content")),
            document
                .query_selector(&format!("input[name=\"{CONFIG_FIELD}\"]"))?
                .or_else(|| document.get_element_by_id(&format!("{code}_custom"))),
        ) else {
            return Ok(None);
        };
        let current = input_value(&input);
        let saved = if current.trim().is_empty() {
            widget.config()
        } else {
            JsValue::from_str(&current)
        };
        let settings = load(&saved).unwrap_or_default();
        let root = draw_form(
            &settings.next_step,
            &host::managers(),
            &host::groups(),
            &widget,
        )?;
        content.append_child(&root)?;
        // The normalised JSON goes in without `change`: installing saves the defaults, and Save stays
        // disabled until the admin changes something.
        if let Some(json) = settings.to_json() {
            set_input_value(&input, &json);
        }
        let page = Rc::new(Page {
            widget,
            jquery,
            root: Owned::new(root),
            input,
            settings: RefCell::new(settings),
            listeners: RefCell::new(Vec::new()),
            request: RefCell::new(None),
        });
        let element = page.root.element().clone();
        let listeners = ["change", "input"]
            .into_iter()
            .map(|event| {
                let weak = Rc::downgrade(&page);
                dom::on(&element, event, move |_| {
                    if let Some(page) = weak.upgrade() {
                        page.changed();
                    }
                })
            })
            .chain(std::iter::once({
                let weak = Rc::downgrade(&page);
                dom::on(&element, "click", move |event| {
                    if let (Some(page), Some(target)) = (
                        weak.upgrade(),
                        event.target().and_then(|t| t.dyn_into::<Element>().ok()),
                    ) {
                        page.clicked(&target);
                    }
                })
            }))
            .collect();
        *page.listeners.borrow_mut() = listeners;
        page.load_pipelines();
        Ok(Some(SettingsPage(page)))
    }

    /// Shows validation problems in the form.
    pub fn show(&self, problems: &[Problem]) {
        let lines: Vec<String> = problems
            .iter()
            .map(|problem| form::problem_line(problem, &self.0.widget))
            .collect();
        let _ = show_problems(self.0.root.element(), &lines);
    }
}

/// `onSave(evt)`: `true` to save; `false` (with the problems shown in the form) for invalid settings.
/// Disabling the widget is never refused.
pub fn on_save(event: &JsValue, page: Option<&SettingsPage>) -> bool {
    let (active, config) = host::save_event(event, CONFIG_FIELD);
    if !active {
        return true;
    }
    let problems = match load(&config) {
        Ok(config) => config.validate(),
        Err(()) => vec![Problem {
            path: CONFIG_FIELD.to_owned(),
            key: "ui.settings.error.unreadable",
        }],
    };
    if let Some(page) = page {
        page.show(&problems);
    }
    problems.is_empty()
}

fn input_value(element: &Element) -> String {
    js_sys::Reflect::get(element, &"value".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

fn set_input_value(element: &Element, value: &str) {
    let _ = js_sys::Reflect::set(element, &"value".into(), &value.into());
}

/// The inputs under `root` matching `selector`.
fn inputs(root: &Element, selector: &str) -> Vec<HtmlInputElement> {
    let Ok(list) = root.query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlInputElement>().ok())
        .collect()
}

/// The values of the checked inputs matching `selector`.
fn checked(root: &Element, selector: &str) -> Vec<String> {
    inputs(root, selector)
        .into_iter()
        .filter(HtmlInputElement::checked)
        .map(|input| input.value())
        .collect()
}

/// Reads every control of the form.
fn read(root: &Element) -> FormValues {
    let ids = |selector| -> Vec<u64> {
        checked(root, selector)
            .iter()
            .filter_map(|v| v.parse().ok())
            .collect()
    };
    let flag = |selector| !checked(root, selector).is_empty();
    let presets = root
        .query_selector_all("[data-preset]")
        .map(|rows| {
            (0..rows.length())
                .filter_map(|i| rows.item(i)?.dyn_into::<Element>().ok())
                .filter_map(|row| {
                    let label = input_value(&row.query_selector("[data-preset-label]").ok()??);
                    let days = input_value(&row.query_selector("[data-preset-days]").ok()??);
                    Some((label, days))
                })
                .collect()
        })
        .unwrap_or_default();
    FormValues {
        enabled: flag("[data-enabled]"),
        scope: ScopeMode::from_code(
            checked(root, "[data-scope]")
                .first()
                .map_or("", String::as_str),
        ),
        pipelines: checked(root, "[data-pipeline]")
            .iter()
            .filter_map(|v| v.parse().ok())
            .collect(),
        stages: checked(root, "[data-stage]")
            .iter()
            .filter_map(|value| {
                let (pipeline, status) = value.split_once(':')?;
                Some(StageRef::new(pipeline.parse().ok()?, status.parse().ok()?))
            })
            .collect(),
        exempt_users: ids("[data-user]"),
        exempt_groups: ids("[data-group]"),
        admins_exempt: flag("[data-admins-exempt]"),
        default_time: inputs(root, "[data-default-time]")
            .first()
            .map(HtmlInputElement::value)
            .unwrap_or_default(),
        presets,
        fail_open: checked(root, "[data-fail]")
            .first()
            .is_some_and(|v| v == "open"),
    }
}

impl Page {
    /// Something in the form changed: write the configuration and let amoCRM enable Save.
    fn changed(&self) {
        let root = self.root.element();
        let values = read(root);
        let _ = show_scope(root, values.scope);
        let _ = show_problems(root, &[]);
        let json = {
            let mut settings = self.settings.borrow_mut();
            form::apply(&values, &mut settings.next_step);
            settings.to_json()
        };
        if let Some(json) = json {
            set_input_value(&self.input, &json);
            host::trigger_change(&self.jquery, &self.input);
        }
    }

    /// Adds or removes a preset row.
    fn clicked(&self, target: &Element) {
        let root = self.root.element();
        let Ok(Some(presets)) = root.query_selector("[data-presets]") else {
            return;
        };
        if target.closest("[data-add-preset]").ok().flatten().is_some() {
            if let Ok(row) = preset_row(form::PRESET_LABELS[3], 3, &self.widget) {
                let _ = presets.append_child(&row);
            }
        } else if let Some(row) = target
            .closest("[data-remove-preset]")
            .ok()
            .flatten()
            .and_then(|button| button.closest("[data-preset]").ok().flatten())
        {
            row.remove();
        } else {
            return;
        }
        let rows = presets
            .query_selector_all("[data-preset]")
            .map_or(0, |l| l.length()) as usize;
        if let Ok(Some(add)) = root.query_selector("[data-add-preset]") {
            let _ = if rows >= MAX_PRESETS {
                add.set_attribute("disabled", "")
            } else {
                add.remove_attribute("disabled")
            };
        }
        self.changed();
    }

    /// Fills the scope lists from the page's pipelines, or asks amoCRM once when the page has none.
    fn load_pipelines(self: &Rc<Self>) {
        if let Some(pipelines) = host::page_pipelines() {
            self.show_pipelines(&pipelines);
            return;
        }
        let Ok(request) = http::InFlight::new() else {
            return;
        };
        let signal = request.signal();
        *self.request.borrow_mut() = Some(request);
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let result = http::pipelines(&signal).await;
            let Some(page) = weak.upgrade() else {
                return;
            };
            page.request.take();
            match result {
                Ok(pipelines) => {
                    let choices: Vec<PipelineChoice> = pipelines
                        .iter()
                        .map(|pipeline| PipelineChoice {
                            id: pipeline.id,
                            name: pipeline.name.clone(),
                            stages: pipeline
                                .statuses_in_order()
                                .into_iter()
                                .filter(|status| !is_closed_status(status.id))
                                .map(|status| (status.id, status.name.clone()))
                                .collect(),
                        })
                        .collect();
                    page.show_pipelines(&choices);
                }
                Err(error) => {
                    let line = crate::render::card::error_text(error, &page.widget);
                    if let Ok(Some(lists)) =
                        page.root.element().query_selector("[data-scope-lists]")
                    {
                        lists.set_text_content(Some(&line));
                    }
                }
            }
        });
    }

    fn show_pipelines(&self, pipelines: &[PipelineChoice]) {
        let scope = self.settings.borrow().next_step.scope.clone();
        let _ = draw_scope_lists(self.root.element(), pipelines, &scope, &self.widget);
    }
}

impl Texts for Widget {
    fn text(&self, key: &str) -> String {
        Widget::text(self, key)
    }

    fn date(&self, unix_seconds: i64) -> String {
        crate::intl::DateFormat::new(
            host::user_language().as_deref(),
            host::account_timezone().as_deref(),
        )
        .format(unix_seconds)
    }
}
