//! The form in amoCRM's widget settings modal: draws every section from the stored configuration,
//! writes the whole configuration as JSON into the manifest's `custom` field `config` (the hidden
//! `input[name="config"]`) on every change, firing `change` so amoCRM enables Save, and shows the
//! core's validation problems when Save is refused.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leakguard_core::deal::{is_closed_status, StageRef};
use leakguard_core::settings::{PaymentStore, Problem, MAX_PRESETS};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlInputElement};

use crate::backend::{self, Pushed};
use crate::config::{self, Config, CONFIG_FIELD};
use crate::dom::{self, Listener, Owned};
use crate::form::{self, FormValues, ScopeMode, Texts};
use crate::host::{self, PipelineChoice, Widget};
use crate::http::{self, HttpError};
use crate::render::{draw_form, draw_scope_lists, preset_row, show_problems, show_scope};
use crate::{automations, payments, refusals, store};

/// The mounted form. Dropping it removes the form and its listeners and aborts its requests.
#[derive(Debug)]
pub struct Page {
    pub(crate) widget: Widget,
    jquery: JsValue,
    pub(crate) root: Owned,
    input: Element,
    pub(crate) settings: RefCell<Config>,
    listeners: RefCell<Vec<Listener>>,
    pub(crate) requests: RefCell<Vec<http::InFlight>>,
    /// The account's pipelines once known (for the stage lists of every section).
    pub(crate) pipelines: RefCell<Vec<PipelineChoice>>,
    /// Problems only the form sees (text that is no value at all), added to the core's on save.
    pub(crate) form_problems: RefCell<Vec<Problem>>,
    /// The account currency, in which the margin plan is typed.
    pub(crate) currency: leakguard_core::payments::Currency,
    /// What is known of the saved payments store while the modal is open.
    store_state: Cell<StoreState>,
    /// Whether the payments store is being prepared.
    preparing: Cell<bool>,
}

impl Page {
    /// Draws the form into `#<code>_custom_content`; `None` when the modal has no such field.
    pub fn mount(widget: Widget, jquery: JsValue) -> Result<Option<Rc<Page>>, JsValue> {
        let Some(code) = widget.code() else {
            return Ok(None);
        };
        let document = dom::document().ok_or("no document")?;
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
        let settings = config::load(&saved).unwrap_or_default();
        let root = draw_form(
            &settings.settings.next_step,
            &host::managers(),
            &host::groups(),
            &widget,
        )?;
        // The other sections go above the error list, one under another.
        let errors = root.query_selector("[data-errors]")?;
        for section in [
            refusals::draw_section(&widget)?,
            payments::draw_section(
                &settings.settings.payments,
                &host::managers(),
                &host::groups(),
                host::currency(),
                &widget,
            )?,
            automations::draw_section(&settings, &host::managers(), &host::groups(), &widget)?,
        ] {
            root.insert_before(&section, errors.as_ref().map(AsRef::as_ref))?;
        }
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
            requests: RefCell::new(Vec::new()),
            pipelines: RefCell::new(Vec::new()),
            form_problems: RefCell::new(Vec::new()),
            currency: host::currency(),
            store_state: Cell::new(StoreState::Unchecked),
            preparing: Cell::new(false),
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
        refusals::load_reasons(&page);
        page.check_store();
        page.retry_pending_push();
        Ok(Some(page))
    }

    /// Sends the configuration amoCRM is about to save (`event.fields.config`) to the backend it
    /// names, before the save goes on. `false`, with the backend's problems shown next to the fields,
    /// only when the backend refuses the settings (422); when it cannot be reached or fails, the save
    /// goes on and the push is left pending for the next opening of the settings.
    pub(crate) async fn push_saved(&self, event: &JsValue) -> bool {
        let Some((url, json)) = saved_push(&host::save_event(event, CONFIG_FIELD).1) else {
            self.say_push_pending(false);
            return true;
        };
        match backend::push(&self.widget, &url, &json).await {
            Pushed::Accepted => {
                self.say_push_pending(false);
                true
            }
            Pushed::Refused(problems) => {
                self.show(&problems);
                false
            }
            Pushed::Failed(_) => {
                self.say_push_pending(true);
                true
            }
        }
    }

    /// The synchronous `onSave` cannot wait for the backend: the push is marked pending at once and
    /// sent in the background, and the mark is cleared when the backend takes it.
    pub(crate) fn push_in_background(&self, event: &JsValue) {
        let Some((url, json)) = saved_push(&host::save_event(event, CONFIG_FIELD).1) else {
            self.say_push_pending(false);
            return;
        };
        self.say_push_pending(true);
        let widget = self.widget.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if backend::push(&widget, &url, &json).await == Pushed::Accepted {
                mark_push_pending(false);
            }
        });
    }

    /// When an earlier push did not reach the backend, sends the saved configuration again and
    /// says so in the backend section until the backend takes it.
    fn retry_pending_push(self: &Rc<Self>) {
        if !host::account_id().is_some_and(backend::is_pending) {
            return;
        }
        let Some((url, json)) = saved_push(&self.widget.config()) else {
            mark_push_pending(false);
            return;
        };
        self.say_push_pending(true);
        let weak = Rc::downgrade(self);
        let widget = self.widget.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let pushed = backend::push(&widget, &url, &json).await;
            let page = weak.upgrade();
            match (pushed, page) {
                (Pushed::Accepted, Some(page)) => page.say_push_pending(false),
                (Pushed::Accepted, None) => mark_push_pending(false),
                (Pushed::Refused(problems), Some(page)) => page.show(&problems),
                _ => {}
            }
        });
    }

    /// Marks (or clears) the pending push and shows (or hides) its note in the backend section.
    fn say_push_pending(&self, pending: bool) {
        mark_push_pending(pending);
        let Ok(Some(note)) = self.root.element().query_selector("[data-backend-push]") else {
            return;
        };
        if pending {
            note.set_text_content(Some(&self.widget.text("ui.settings.backend_push_pending")));
            let _ = note.remove_attribute("hidden");
        } else {
            note.set_text_content(None);
            let _ = note.set_attribute("hidden", "");
        }
    }

    /// Shows validation problems in the form.
    pub fn show(&self, problems: &[Problem]) {
        let lines: Vec<String> = problems
            .iter()
            .map(|problem| form::problem_line(problem, &self.widget))
            .collect();
        let _ = show_problems(self.root.element(), &lines);
        let _ = payments::show_field_problems(self.root.element(), problems, |problem| {
            self.widget.text(problem.key)
        });
    }

    /// Something in the form changed: write the configuration and let amoCRM enable Save.
    pub(crate) fn changed(&self) {
        let root = self.root.element();
        let values = read(root);
        let _ = show_scope(root, values.scope);
        let _ = show_problems(root, &[]);
        let json = {
            let mut config = self.settings.borrow_mut();
            form::apply(&values, &mut config.settings.next_step);
            refusals::apply(root, &mut config.settings.refusals);
            let mut problems = automations::apply(root, &mut config);
            problems.extend(payments::apply(
                root,
                &mut config.settings.payments,
                self.currency,
            ));
            *self.form_problems.borrow_mut() = problems;
            config.to_json()
        };
        if let Some(json) = json {
            set_input_value(&self.input, &json);
            host::trigger_change(&self.jquery, &self.input);
        }
    }

    /// Writes the configuration into the field without `change` (defaults the admin did not touch).
    pub(crate) fn store_quietly(&self) {
        if let Some(json) = self.settings.borrow().to_json() {
            set_input_value(&self.input, &json);
        }
    }

    /// Keeps the refusal rows' edits, then redraws with `redraw`.
    pub(crate) fn changed_quietly(&self, redraw: impl FnOnce()) {
        refusals::apply(
            self.root.element(),
            &mut self.settings.borrow_mut().settings.refusals,
        );
        redraw();
        self.store_quietly();
    }

    /// Adds or removes a preset row, or passes the click on to the section it belongs to.
    fn clicked(self: &Rc<Self>, target: &Element) {
        if refusals::clicked(self, target) || self.payments_clicked(target) {
            return;
        }
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

    /// Adds or removes a margin target row, or ticks a group's editors; `false` for other clicks.
    fn payments_clicked(&self, target: &Element) -> bool {
        let root = self.root.element();
        let button = |selector: &str| target.closest(selector).ok().flatten();
        if button("[data-add-margin]").is_some() {
            let Ok(Some(rows)) = root.query_selector("[data-margin-rows]") else {
                return true;
            };
            if let Ok(row) =
                payments::margin_row("", "company", "", &host::managers(), &self.widget)
            {
                let _ = rows.append_child(&row);
            }
        } else if let Some(row) = button("[data-remove-margin]")
            .and_then(|b| b.closest("[data-margin-row]").ok().flatten())
        {
            row.remove();
        } else if let Some(group) = button("[data-payments-group]") {
            let group_id: u64 = group
                .get_attribute("data-payments-group")
                .and_then(|id| id.parse().ok())
                .unwrap_or(0);
            payments::toggle_group(root, &host::group_members(group_id));
        } else {
            return false;
        }
        self.changed();
        true
    }

    /// Prepares the payments store for `config` (the one being saved) and, when its ids change,
    /// writes them into `event.fields.config`. `false`, with the reason shown, when amoCRM could
    /// not be asked or refused.
    pub(crate) async fn prepare_store(&self, mut config: Config, event: &JsValue) -> bool {
        let current = config.settings.payments.store;
        let Some(store) = self.prepare(current, false).await else {
            return false;
        };
        if current == Some(store) {
            return true;
        }
        config.settings.payments.store = Some(store);
        let Some(json) = config.to_json() else {
            return false;
        };
        let fields = js_sys::Reflect::get(event, &"fields".into()).unwrap_or_default();
        fields.is_object()
            && js_sys::Reflect::set(&fields, &CONFIG_FIELD.into(), &json.into()).unwrap_or(false)
    }

    /// The synchronous `onSave` with payments on: `true` when `config` has a store that is not
    /// known to be gone (checked when the modal opened, or still being checked: the ids were valid
    /// when they were saved); otherwise it starts preparing the store and refuses this save. Once the
    /// store is ready its ids are in the form and Save is enabled again, so the next Save goes through.
    pub(crate) fn store_ready_for(self: &Rc<Self>, config: &Config) -> bool {
        let current = config.settings.payments.store;
        let ready = match (current, self.store_state.get()) {
            (Some(store), StoreState::Valid(valid)) => store == valid,
            (Some(store), StoreState::Unchecked) => store.catalog_id != 0,
            (_, StoreState::Gone) | (None, _) => false,
        };
        if ready {
            return true;
        }
        if !self.preparing.get() {
            let weak = Rc::downgrade(self);
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(page) = weak.upgrade() {
                    page.prepare(current, true).await;
                }
            });
        }
        false
    }

    /// Checks the saved store when the modal opens (one request), so that a save of settings whose
    /// catalog is still there needs none. Nothing is created here.
    fn check_store(self: &Rc<Self>) {
        let payments = &self.settings.borrow().settings.payments;
        let Some(store) = payments.store.filter(|_| payments.enabled) else {
            return;
        };
        let Some(signal) = self.hold() else {
            return;
        };
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let fields = http::catalog_fields(store.catalog_id, &signal).await;
            let Some(page) = weak.upgrade() else { return };
            if page.preparing.get() {
                return;
            }
            // A failed check proves nothing: the saved ids stay trusted.
            let valid = match fields {
                Ok(fields) => store::still_valid(&store, &fields),
                Err(HttpError::Status(404)) => false,
                Err(_) => return,
            };
            if valid {
                page.store_state.set(StoreState::Valid(store));
                page.say_store("ui.settings.payments.store_ready", store.catalog_id, false);
            } else {
                page.store_state.set(StoreState::Gone);
            }
        });
    }

    /// Shows the store's status line.
    fn say_store(&self, key: &str, catalog_id: u64, failed: bool) {
        let Ok(Some(status)) = self.root.element().query_selector("[data-payments-store]") else {
            return;
        };
        status.set_text_content(Some(&leakguard_core::text::interpolate(
            &self.widget.text(key),
            &[("id", &catalog_id.to_string())],
        )));
        status
            .set_attribute("data-store-state", if failed { "failed" } else { "ok" })
            .ok();
        status.set_class_name(if failed {
            "leakguard-settings__error"
        } else {
            "leakguard-settings__hint"
        });
    }

    /// Finds or creates the store (see [`store::prepare`]), keeps its ids in the form's
    /// configuration and remembers it as checked. With `announce`, new ids fire `change` (so amoCRM
    /// enables Save) and the status asks for Save again. `None`, with the reason shown, on failure.
    async fn prepare(&self, current: Option<PaymentStore>, announce: bool) -> Option<PaymentStore> {
        self.preparing.set(true);
        self.say_store("ui.settings.payments.store_preparing", 0, false);
        let Some(signal) = self.hold() else {
            self.preparing.set(false);
            return None;
        };
        let result = store::prepare(current, host::language(), &signal).await;
        self.preparing.set(false);
        match result {
            Ok(prepared) => {
                let store = prepared.store;
                self.store_state.set(StoreState::Valid(store));
                let changed = current != Some(store);
                self.settings.borrow_mut().settings.payments.store = Some(store);
                let key = if announce {
                    "ui.settings.payments.store_press_save"
                } else {
                    "ui.settings.payments.store_ready"
                };
                self.say_store(key, store.catalog_id, false);
                if changed && announce {
                    if let Some(json) = self.settings.borrow().to_json() {
                        set_input_value(&self.input, &json);
                        host::trigger_change(&self.jquery, &self.input);
                    }
                } else {
                    self.store_quietly();
                }
                Some(store)
            }
            Err(error) => {
                if let Ok(Some(status)) =
                    self.root.element().query_selector("[data-payments-store]")
                {
                    status.set_text_content(Some(&leakguard_core::text::interpolate(
                        &self.widget.text("ui.settings.payments.store_failed"),
                        &[("error", &error_text(error, &self.widget))],
                    )));
                    status.set_attribute("data-store-state", "failed").ok();
                    status.set_class_name("leakguard-settings__error");
                }
                None
            }
        }
    }

    /// Keeps a request alive until the form goes away (dropping it aborts it).
    pub(crate) fn hold(&self) -> Option<web_sys::AbortSignal> {
        let request = http::InFlight::new().ok()?;
        let signal = request.signal();
        self.requests.borrow_mut().push(request);
        Some(signal)
    }

    /// Fills the stage lists from the page's pipelines, or asks amoCRM once when the page has none.
    fn load_pipelines(self: &Rc<Self>) {
        if let Some(pipelines) = host::page_pipelines() {
            self.show_pipelines(pipelines);
            return;
        }
        let Some(signal) = self.hold() else {
            return;
        };
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let result = http::pipelines(&signal).await;
            let Some(page) = weak.upgrade() else {
                return;
            };
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
                    page.show_pipelines(choices);
                }
                Err(error) => {
                    let line = error_text(error, &page.widget);
                    if let Ok(Some(lists)) =
                        page.root.element().query_selector("[data-scope-lists]")
                    {
                        lists.set_text_content(Some(&line));
                    }
                }
            }
        });
    }

    fn show_pipelines(&self, pipelines: Vec<PipelineChoice>) {
        {
            let config = self.settings.borrow();
            let root = self.root.element();
            let _ = draw_scope_lists(
                root,
                &pipelines,
                &config.settings.next_step.scope,
                &self.widget,
            );
            let _ =
                automations::show_stages(root, &pipelines, &config.settings.stuck, &self.widget);
            let _ = payments::show_gates(root, &pipelines, &config.settings.payments, &self.widget);
        }
        *self.pipelines.borrow_mut() = pipelines;
        refusals::pipelines_known(self);
    }
}

/// The backend's settings URL and the JSON to send it, for a stored or about-to-be-saved `config`
/// field; `None` when it names no backend (or cannot be read).
fn saved_push(config: &JsValue) -> Option<(String, String)> {
    let loaded = config::load(config).ok()?;
    let url = backend::settings_url(&loaded.backend_url)?;
    let json = config.as_string().or_else(|| loaded.to_json())?;
    Some((url, json))
}

/// Marks (or clears) a pending push of this account's settings.
fn mark_push_pending(pending: bool) {
    if let Some(account) = host::account_id() {
        backend::set_pending(account, pending);
    }
}

/// What the form knows of the saved payments store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StoreState {
    /// Not checked yet (or the check could not reach amoCRM).
    Unchecked,
    /// These ids name the catalog's fields.
    Valid(PaymentStore),
    /// The saved catalog or one of its fields no longer exists.
    Gone,
}

/// An error of a request as a line for the admin.
pub(crate) fn error_text(error: HttpError, texts: &impl Texts) -> String {
    match error {
        HttpError::Network => texts.text("ui.error.network"),
        HttpError::Malformed => texts.text("ui.error.malformed"),
        HttpError::Status(401) => texts.text("ui.error.unauthorized"),
        HttpError::Status(403) => texts.text("ui.error.forbidden"),
        HttpError::Status(429) => texts.text("ui.error.rate_limited"),
        HttpError::Status(status) => leakguard_core::text::interpolate(
            &texts.text("ui.error.http"),
            &[("status", &status.to_string())],
        ),
    }
}

pub(crate) fn input_value(element: &Element) -> String {
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
pub(crate) fn checked(root: &Element, selector: &str) -> Vec<String> {
    inputs(root, selector)
        .into_iter()
        .filter(HtmlInputElement::checked)
        .map(|input| input.value())
        .collect()
}

/// The elements under `root` matching `selector`.
pub(crate) fn all(root: &Element, selector: &str) -> Vec<Element> {
    root.query_selector_all(selector)
        .map(|list| {
            (0..list.length())
                .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The value of the first control under `root` matching `selector` (empty when there is none).
pub(crate) fn value_of(root: &Element, selector: &str) -> String {
    root.query_selector(selector)
        .ok()
        .flatten()
        .map(|element| input_value(&element))
        .unwrap_or_default()
}

/// Reads every control of the next-step section.
fn read(root: &Element) -> FormValues {
    let ids = |selector| -> Vec<u64> {
        checked(root, selector)
            .iter()
            .filter_map(|v| v.parse().ok())
            .collect()
    };
    let flag = |selector| !checked(root, selector).is_empty();
    let presets = all(root, "[data-preset]")
        .iter()
        .map(|row| {
            (
                value_of(row, "[data-preset-label]"),
                value_of(row, "[data-preset-days]"),
            )
        })
        .collect();
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
        default_time: value_of(root, "[data-default-time]"),
        presets,
        fail_open: checked(root, "[data-fail]")
            .first()
            .is_some_and(|v| v == "open"),
    }
}

impl Texts for Widget {
    fn text(&self, key: &str) -> String {
        Widget::text(self, key)
    }
}
