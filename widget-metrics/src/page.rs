//! The key-metrics page in `#work-area-<code>`: its state, the filter form, loading with a
//! progress bar and Cancel, the report, the deal lists behind the numbers and the exports.
//!
//! The page owns everything it adds (its root, its stylesheet, two delegated listeners on the
//! root and the load in flight); dropping it removes them and aborts the requests.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use leakguard_core::dates::{local_date_of, Date};
use leakguard_core::locale::Lang;
use leakguard_core::metrics::{Filter, KeyMetrics};
use leakguard_core::text::interpolate;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, Document, Element, HtmlInputElement, HtmlSelectElement};

use crate::backend::Backend;
use crate::compute::Context;
use crate::data::{Dataset, Directory};
use crate::dom::{self, Listener, Owned};
use crate::export::{self, XlsxCell};
use crate::host::{self, Widget};
use crate::http::HttpError;
use crate::intl::{Formats, ZoneOffsets};
use crate::load::{self, Progress};
use crate::report::{self, Cell, Locale, Report, Table};
use crate::scope::{Preset, Scope};
use crate::{chart, effects};

mod payments;
mod qc;

/// How many deals a list shows before "show more".
const DRILL_PAGE: usize = 100;

/// Where the numbers come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsSource {
    /// Read amoCRM's API from the browser and compute here.
    Browser,
    /// Ask the LeakGuard backend, which computes the same core metrics over its synced copy
    /// (`GET <backend>/api/metrics`), answering at once.
    Backend,
}

/// What the page knows about the LeakGuard backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BackendState {
    /// The settings name no backend.
    Absent,
    Checking,
    Installed,
    NotInstalled,
    /// It did not answer as documented; the page computes in the browser instead.
    Failed(HttpError),
}

/// What the page is doing.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// Reading the pipelines and loss reasons.
    Starting,
    Loading(Progress),
    Ready {
        cut: bool,
    },
    Failed(HttpError),
    Cancelled,
}

impl Phase {
    fn code(&self) -> &'static str {
        match self {
            Phase::Starting | Phase::Loading(_) => "loading",
            Phase::Ready { .. } => "ready",
            Phase::Failed(_) => "error",
            Phase::Cancelled => "cancelled",
        }
    }
}

/// The filter form's values.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Form {
    preset: String,
    from: Option<Date>,
    to: Option<Date>,
    pipeline: Option<u32>,
    manager: Option<u64>,
    group: Option<u64>,
}

impl Default for Form {
    fn default() -> Form {
        Form {
            preset: "last_30".into(),
            from: None,
            to: None,
            pipeline: None,
            manager: None,
            group: None,
        }
    }
}

struct State {
    directory: Option<Rc<Directory>>,
    form: Form,
    phase: Phase,
    /// What `data` holds.
    loaded: Option<Scope>,
    data: Rc<RefCell<Dataset>>,
    index: HashMap<u64, usize>,
    /// The load in flight; aborting it stops every request.
    load: Option<AbortController>,
    generation: u32,
    filter: Option<Filter>,
    report: Option<Report>,
    /// The instant the report was computed at, and when its data was read.
    now: i64,
    loaded_at: i64,
    /// The open deal list: its drill index and how many rows are shown.
    drill: Option<(usize, usize)>,
    /// Reads the deals of a backend-served drill-down list from amoCRM.
    drill_load: Option<AbortController>,
    backend: BackendState,
    /// How old the backend's copy was when it served the report (seconds; `None` before its first sync).
    served: Option<(Option<i64>, Option<i64>)>,
    qc: qc::QcState,
    /// The metrics last shown, redrawn when the payments report's data arrives.
    metrics: Option<KeyMetrics>,
    payments: payments::PaymentsState,
}

/// The mounted page.
pub struct Page {
    widget: Widget,
    root: Owned,
    _style: Option<Owned>,
    listeners: RefCell<Vec<Listener>>,
    formats: Formats,
    context: Context<ZoneOffsets>,
    lang: Lang,
    origin: String,
    source: std::cell::Cell<MetricsSource>,
    backend: Option<Backend>,
    state: RefCell<State>,
}

impl Drop for Page {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        for load in [
            state.load.take(),
            state.drill_load.take(),
            state.payments.take_load(),
        ]
        .into_iter()
        .flatten()
        {
            load.abort();
        }
    }
}

impl Locale for Page {
    fn text(&self, key: &str) -> String {
        self.widget.text(key)
    }
    fn count(&self, value: i64) -> String {
        self.formats.count(value)
    }
    fn money(&self, value: i64) -> String {
        self.formats.money(value)
    }
    fn share(&self, basis_points: i64) -> String {
        self.formats.share(basis_points)
    }
}

impl Page {
    /// Draws the page into `area` and starts reading.
    pub fn mount(widget: Widget, area: &Element) -> Result<Rc<Page>, JsValue> {
        let account = host::account();
        let language = host::language();
        let lang = Lang::from_code(language.as_deref().unwrap_or("en"));
        let backend = Backend::from_settings(&widget);
        let root = dom::element("div", "leakguard-metrics")?;
        root.set_attribute("data-leakguard-metrics", "")?;
        root.set_attribute("aria-busy", "true")?;
        dom::append(area, &root)?;
        let page = Rc::new(Page {
            formats: Formats::new(
                language.as_deref(),
                account.currency.as_deref(),
                account.timezone.as_deref(),
            ),
            context: Context::new(
                widget.config().as_deref(),
                account.country.as_deref(),
                ZoneOffsets::new(account.timezone.as_deref()),
                lang,
            ),
            widget,
            root: Owned::new(root),
            _style: dom::attach_style(include_str!("../style.css"))?,
            listeners: RefCell::new(Vec::new()),
            lang,
            origin: host::origin(),
            source: std::cell::Cell::new(MetricsSource::Browser),
            state: RefCell::new(State {
                drill_load: None,
                backend: if backend.is_some() {
                    BackendState::Checking
                } else {
                    BackendState::Absent
                },
                served: None,
                qc: qc::QcState::default(),
                metrics: None,
                payments: payments::PaymentsState::default(),
                directory: None,
                form: Form::default(),
                phase: Phase::Starting,
                loaded: None,
                data: Rc::new(RefCell::new(Dataset::default())),
                index: HashMap::new(),
                load: None,
                generation: 0,
                filter: None,
                report: None,
                now: 0,
                loaded_at: 0,
                drill: None,
            }),
            backend,
        });
        page.skeleton()?;
        let weak = Rc::downgrade(&page);
        let on_click = dom::on(page.root.element(), "click", {
            let weak = weak.clone();
            move |event| {
                if let Some(page) = weak.upgrade() {
                    page.clicked(event);
                }
            }
        });
        let on_change = dom::on(page.root.element(), "change", move |event| {
            // Only the filter form reloads; the queue's own fields do not.
            let target = event.target().and_then(|t| t.dyn_into::<Element>().ok());
            let within = |part: &str| {
                target.as_ref().is_some_and(|t| {
                    t.closest(&format!("[data-part=\"{part}\"]"))
                        .ok()
                        .flatten()
                        .is_some()
                })
            };
            if let Some(page) = weak.upgrade() {
                if within("filters") {
                    page.apply(false);
                } else if let (true, Some(target)) = (within("payments"), &target) {
                    page.payments_month_changed(target);
                }
            }
        });
        page.listeners.borrow_mut().extend([on_click, on_change]);
        page.start();
        Ok(page)
    }

    fn document(&self) -> Document {
        self.root
            .element()
            .owner_document()
            .expect("an attached element has a document")
    }

    fn t(&self, key: &str) -> String {
        self.widget.text(&format!("ui.metrics.{key}"))
    }

    /// The page's fixed parts, filled in later.
    fn skeleton(&self) -> Result<(), JsValue> {
        let root = self.root.element();
        for part in [
            "filters", "status", "tiles", "drill", "sections", "payments", "qc",
        ] {
            let element = dom::element("div", &format!("leakguard-metrics__{part}"))?;
            element.set_attribute("data-part", part)?;
            dom::append(root, &element)?;
        }
        self.draw_status()
    }

    fn part(&self, name: &str) -> Element {
        self.root
            .element()
            .query_selector(&format!("[data-part=\"{name}\"]"))
            .ok()
            .flatten()
            .expect("the skeleton has every part")
    }

    /// Reads the names (two requests), then loads the default filter.
    fn start(self: &Rc<Self>) {
        let Ok(controller) = AbortController::new() else {
            return;
        };
        let signal = controller.signal();
        self.state.borrow_mut().load = Some(controller);
        let weak = Rc::downgrade(self);
        let backend = self.backend.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // The backend, when the settings name one, is asked first whether it serves this account.
            let installed = match &backend {
                Some(backend) => Some(backend.installed().await),
                None => None,
            };
            let answer = load::directory(&signal).await;
            let Some(page) = weak.upgrade() else { return };
            let state = match installed {
                None => BackendState::Absent,
                Some(Ok(true)) => BackendState::Installed,
                Some(Ok(false)) => BackendState::NotInstalled,
                Some(Err(error)) => BackendState::Failed(error),
            };
            page.state.borrow_mut().backend = state;
            if state == BackendState::Installed {
                page.source.set(MetricsSource::Backend);
            }
            page.load_queue();
            match answer {
                Ok((pipelines, reasons)) => {
                    let directory =
                        Directory::new(pipelines, reasons, host::people(), host::groups());
                    page.state.borrow_mut().directory = Some(Rc::new(directory));
                    page.draw_filters().ok();
                    page.apply(true);
                }
                Err(error) => page.set_phase(Phase::Failed(error)),
            }
        });
    }

    /// The filter of the form's values at `now`.
    fn filter(&self, form: &Form, now: i64) -> Filter {
        let preset =
            Preset::from_code(&form.preset, form.from, form.to).unwrap_or(Preset::Last30Days);
        Filter {
            period: preset.period(now, &self.context.zone),
            pipeline_id: form.pipeline,
            manager_id: form.manager,
            group_id: form.group,
        }
    }

    /// Shows the form's filter: at once from the loaded data when it covers it, else after a load.
    fn apply(self: &Rc<Self>, force: bool) {
        let form = self.read_form();
        let directory = {
            let mut state = self.state.borrow_mut();
            if let Some(form) = form {
                state.form = form;
            }
            state.directory.clone()
        };
        let Some(directory) = directory else { return };
        // The custom range shows its dates; a change of preset redraws the form.
        self.draw_filters().ok();
        let now = effects::now_unix();
        let form = self.state.borrow().form.clone();
        if form.preset == "custom" && (form.from.is_none() || form.to.is_none()) {
            return;
        }
        let filter = self.filter(&form, now);
        if self.source.get() == MetricsSource::Backend {
            self.load_backend(filter);
            return;
        }
        let wanted = Scope::for_filter(&filter, |group| directory.members(group));
        let covered = {
            let state = self.state.borrow();
            matches!(state.phase, Phase::Ready { .. })
                && state
                    .loaded
                    .as_ref()
                    .is_some_and(|have| have.covers(&wanted))
        };
        if covered && !force {
            self.show(filter, now);
        } else {
            self.load(wanted, filter, force, &directory);
        }
    }

    fn load(self: &Rc<Self>, scope: Scope, filter: Filter, force: bool, directory: &Rc<Directory>) {
        let Ok(controller) = AbortController::new() else {
            return;
        };
        let signal = controller.signal();
        let (generation, data, tasks) = {
            let mut state = self.state.borrow_mut();
            if let Some(previous) = state.load.replace(controller) {
                previous.abort();
            }
            state.generation += 1;
            // Open tasks do not depend on the filter: a narrower or wider load keeps them.
            let keep_tasks = !force && state.loaded.is_some();
            let data = if keep_tasks {
                let tasks = std::mem::take(&mut state.data.borrow_mut().tasks);
                Dataset::with_tasks(tasks)
            } else {
                Dataset::default()
            };
            state.data = Rc::new(RefCell::new(data));
            state.loaded = None;
            state.drill = None;
            (state.generation, state.data.clone(), !keep_tasks)
        };
        self.set_phase(Phase::Loading(Progress::default()));
        let weak = Rc::downgrade(self);
        let stages = directory.stage_pairs();
        wasm_bindgen_futures::spawn_local(async move {
            let progress_page = weak.clone();
            let on_progress = move |progress: Progress| {
                if let Some(page) = progress_page.upgrade() {
                    if page.state.borrow().generation == generation {
                        page.progress(progress);
                    }
                }
            };
            let result = load::load(&scope, &stages, tasks, &data, &signal, &on_progress).await;
            let Some(page) = weak.upgrade() else { return };
            if page.state.borrow().generation != generation {
                return;
            }
            let cancelled = signal.aborted();
            {
                let mut state = page.state.borrow_mut();
                state.load = None;
                if result.is_ok() {
                    state.loaded = Some(scope);
                    state.loaded_at = effects::now_unix();
                    let index = state.data.borrow().index();
                    state.index = index;
                }
            }
            match result {
                Ok(done) => {
                    page.state.borrow_mut().phase = Phase::Ready { cut: done.cut };
                    page.show(filter, effects::now_unix());
                    page.load_payments(false);
                }
                Err(_) if cancelled => page.set_phase(Phase::Cancelled),
                Err(error) => page.set_phase(Phase::Failed(error)),
            }
        });
    }

    /// Asks the backend for the report of `filter`; on any failure the page says so and loads
    /// from amoCRM in the browser instead.
    fn load_backend(self: &Rc<Self>, filter: Filter) {
        let Some(backend) = self.backend.clone() else {
            return;
        };
        let Ok(controller) = AbortController::new() else {
            return;
        };
        let signal = controller.signal();
        let generation = {
            let mut state = self.state.borrow_mut();
            if let Some(previous) = state.load.replace(controller) {
                previous.abort();
            }
            state.generation += 1;
            state.drill = None;
            state.generation
        };
        self.set_phase(Phase::Loading(Progress::default()));
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let answer = backend.metrics(&filter).await;
            let Some(page) = weak.upgrade() else { return };
            if page.state.borrow().generation != generation {
                return;
            }
            page.state.borrow_mut().load = None;
            if signal.aborted() {
                page.set_phase(Phase::Cancelled);
                return;
            }
            match answer {
                Ok(mut served) => {
                    {
                        let mut state = page.state.borrow_mut();
                        state.payments.served = served.payments.take().map(Rc::new);
                        // The browser's data no longer matches what is shown: a switch back reloads.
                        state.data = Rc::new(RefCell::new(Dataset::default()));
                        state.index.clear();
                        state.loaded = None;
                        state.served = Some((served.age(), served.synced_at));
                        state.loaded_at = effects::now_unix();
                        state.phase = Phase::Ready { cut: false };
                    }
                    page.show_metrics(served.metrics, filter, effects::now_unix());
                    page.load_payments(false);
                }
                Err(error) => {
                    page.state.borrow_mut().backend = BackendState::Failed(error);
                    page.source.set(MetricsSource::Browser);
                    page.apply(true);
                }
            }
        });
    }

    /// Reads the deals of the open backend-served list that amoCRM has not given the page yet.
    fn load_drill_deals(self: &Rc<Self>) {
        let ids: Vec<u64> = {
            let state = self.state.borrow();
            let (Some((drill, shown)), Some(report)) = (state.drill, &state.report) else {
                return;
            };
            report.drills[drill]
                .deal_ids
                .iter()
                .take(shown)
                .filter(|id| !state.index.contains_key(id))
                .copied()
                .collect()
        };
        if ids.is_empty() {
            return;
        }
        let Ok(controller) = AbortController::new() else {
            return;
        };
        let signal = controller.signal();
        if let Some(previous) = self.state.borrow_mut().drill_load.replace(controller) {
            previous.abort();
        }
        self.flash_drill_loading();
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let mut deals = Vec::new();
            let mut failure = None;
            for chunk in ids.chunks(250) {
                let query = amo_api::query::LeadsQuery {
                    ids: chunk.to_vec(),
                    limit: Some(250),
                    ..Default::default()
                };
                match crate::http::get_bytes(&query.to_path(), &signal).await {
                    Ok(body) => {
                        let page: Result<amo_api::Page<amo_api::Lead>, _> = match body {
                            Some(body) => serde_json::from_slice(&body),
                            None => Ok(amo_api::Page::default()),
                        };
                        match page {
                            Ok(page) => {
                                deals.extend(page.items.into_iter().map(crate::data::deal_of))
                            }
                            Err(_) => failure = Some(HttpError::Malformed),
                        }
                    }
                    Err(error) => failure = Some(error),
                }
                if failure.is_some() {
                    break;
                }
            }
            let Some(page) = weak.upgrade() else { return };
            {
                let mut state = page.state.borrow_mut();
                state.drill_load = None;
                let data = state.data.clone();
                let mut data = data.borrow_mut();
                for deal in deals {
                    if let std::collections::hash_map::Entry::Vacant(slot) =
                        state.index.entry(deal.id)
                    {
                        slot.insert(data.deals.len());
                        data.deals.push(deal);
                    }
                }
            }
            page.draw_drill().ok();
            if let Some(error) = failure {
                if !signal.aborted() {
                    page.flash(&interpolate(
                        &page.widget.text(error_key(error)),
                        &[("status", &status_of(error))],
                    ));
                }
            }
        });
    }

    /// Says in the open list that its deals are being read.
    fn flash_drill_loading(&self) {
        if let Ok(line) = dom::text("p", "leakguard-metrics__note", &self.t("drill_loading")) {
            line.set_attribute("data-drill-loading", "").ok();
            self.part("drill").append_child(&line).ok();
        }
    }

    /// Computes and draws the report of `filter` from the loaded data.
    fn show(&self, filter: Filter, now: i64) {
        let metrics: KeyMetrics = {
            let state = self.state.borrow();
            let data = state.data.borrow();
            self.context.compute(&data, &filter, now)
        };
        self.show_metrics(metrics, filter, now);
    }

    /// Draws the report of `metrics`, computed here or served by the backend.
    fn show_metrics(&self, mut metrics: KeyMetrics, filter: Filter, now: i64) {
        let Some(directory) = self.state.borrow().directory.clone() else {
            return;
        };
        let plain = metrics.clone();
        // The "Unpaid money" leak counts the overdue payments of the payments report's data.
        let served = (self.source.get() == MetricsSource::Backend)
            .then(|| self.state.borrow().payments.served.clone())
            .flatten();
        let payments = match served {
            Some(served) => Some((served.currency, self.lang)),
            None => self.overdue_metric(&filter, now).map(|overdue| {
                metrics.overdue_payments = overdue;
                (payments::currency(), self.lang)
            }),
        };
        let report = report::report(&metrics, &directory, payments, self);
        {
            let mut state = self.state.borrow_mut();
            state.metrics = Some(plain);
            state.filter = Some(filter);
            state.now = now;
            state.report = Some(report);
            state.drill = None;
        }
        if let Err(error) = self.draw_report() {
            web_sys::console::warn_1(&error);
        }
        self.draw_status().ok();
        self.draw_drill().ok();
        // The backend's payments report changes with the period.
        if self.state.borrow().payments.phase == payments::Phase::Ready {
            self.draw_payments().ok();
        }
    }

    fn set_phase(&self, phase: Phase) {
        self.state.borrow_mut().phase = phase;
        self.draw_status().ok();
    }

    /// Updates the progress bar alone (it changes with every page).
    fn progress(&self, progress: Progress) {
        self.state.borrow_mut().phase = Phase::Loading(progress);
        let bar = self
            .root
            .element()
            .query_selector("[data-progress]")
            .ok()
            .flatten();
        match bar {
            Some(bar) => {
                set_progress(&bar, progress, &self.t("progress")).ok();
            }
            None => {
                self.draw_status().ok();
            }
        }
    }

    // Events.

    fn clicked(self: &Rc<Self>, event: web_sys::Event) {
        let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Some(button) = target.closest("[data-action]").ok().flatten() else {
            return;
        };
        let attribute = |name: &str| button.get_attribute(name).unwrap_or_default();
        match attribute("data-action").as_str() {
            "cancel" => {
                if let Some(load) = self.state.borrow_mut().load.take() {
                    load.abort();
                }
            }
            "payments-cancel" => self.cancel_payments(),
            "payments-retry" => self.load_payments(true),
            "refresh" => self.apply(true),
            "drill" => {
                if let Ok(index) = attribute("data-drill").parse() {
                    self.state.borrow_mut().drill = Some((index, DRILL_PAGE));
                    self.draw_drill().ok();
                    if self.source.get() == MetricsSource::Backend {
                        self.load_drill_deals();
                    }
                    self.part("drill").scroll_into_view();
                }
            }
            "more" => {
                if let Some((_, shown)) = self.state.borrow_mut().drill.as_mut() {
                    *shown += DRILL_PAGE;
                }
                self.draw_drill().ok();
                if self.source.get() == MetricsSource::Backend {
                    self.load_drill_deals();
                }
            }
            "recompute" => {
                self.source.set(MetricsSource::Browser);
                self.apply(true);
            }
            "use-backend" => {
                self.source.set(MetricsSource::Backend);
                self.apply(true);
            }
            "close" => {
                self.state.borrow_mut().drill = None;
                self.draw_drill().ok();
            }
            "export" => {
                if let Some(table) = self.table(&attribute("data-table")) {
                    self.export(table, &attribute("data-format"));
                }
            }
            action if action.starts_with("qc-") => self.qc_clicked(action, &button),
            _ => {}
        }
    }

    /// The form's values, when the form is drawn.
    fn read_form(&self) -> Option<Form> {
        let form = self.part("filters");
        let value = |name: &str| -> Option<String> {
            let element = form.query_selector(&format!("[name=\"{name}\"]")).ok()??;
            let value = match element.dyn_ref::<HtmlSelectElement>() {
                Some(select) => select.value(),
                None => element.dyn_ref::<HtmlInputElement>()?.value(),
            };
            Some(value).filter(|v| !v.is_empty())
        };
        let preset = value("period")?;
        Some(Form {
            preset,
            from: value("from").and_then(|v| v.parse().ok()),
            to: value("to").and_then(|v| v.parse().ok()),
            pipeline: value("pipeline").and_then(|v| v.parse().ok()),
            manager: value("manager").and_then(|v| v.parse().ok()),
            group: value("group").and_then(|v| v.parse().ok()),
        })
    }

    /// A table of the report, or the open deal list.
    fn table(&self, id: &str) -> Option<Table> {
        if let Some(table) = self.payments_table(id) {
            return Some(table);
        }
        let state = self.state.borrow();
        let report = state.report.as_ref()?;
        if id == "deals" {
            let (drill, _) = state.drill?;
            let directory = state.directory.as_ref()?;
            return Some(report::deals_table(
                &report.drills[drill],
                &state.data.borrow().deals,
                &state.index,
                directory,
                self,
            ));
        }
        report
            .sections
            .iter()
            .flat_map(|s| &s.tables)
            .find(|t| t.id == id)
            .cloned()
    }

    fn export(self: &Rc<Self>, table: Table, format: &str) {
        let date = local_date_of(self.state.borrow().now, &self.context.zone).to_string();
        let link = self.t("col.link");
        match format {
            "csv" => {
                let text = export::csv(&table, self.lang, &self.origin, &link);
                let name = export::file_name(&table.id, &date, "csv");
                if let Err(error) =
                    dom::download(&JsValue::from_str(&text), "text/csv;charset=utf-8", &name)
                {
                    web_sys::console::warn_1(&error);
                }
            }
            "xlsx" => {
                let (header, rows) = export::xlsx_rows(&table, &self.origin, &link);
                let name = export::file_name(&table.id, &date, "xlsx");
                let sheet = table.title.clone();
                let base = self.widget.base_url().unwrap_or_default();
                let version = self.widget.version();
                let weak: Weak<Page> = Rc::downgrade(self);
                wasm_bindgen_futures::spawn_local(async move {
                    let file = effects::xlsx(&base, &version, &sheet, header, js_rows(&rows)).await;
                    let Some(page) = weak.upgrade() else { return };
                    let done = file.and_then(|bytes| {
                        dom::download(
                            &bytes,
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            &name,
                        )
                    });
                    if done.is_err() {
                        page.flash(&page.t("export_failed"));
                    }
                });
            }
            _ => {}
        }
    }

    /// Shows a short message in the status line.
    fn flash(&self, text: &str) {
        if let Ok(message) = dom::element(
            "p",
            "leakguard-metrics__message leakguard-metrics__message--alert",
        ) {
            message.set_text_content(Some(text));
            message.set_attribute("role", "alert").ok();
            self.part("status").append_child(&message).ok();
        }
    }

    // Drawing.

    fn draw_filters(&self) -> Result<(), JsValue> {
        let state = self.state.borrow();
        let Some(directory) = &state.directory else {
            return Ok(());
        };
        let form = &state.form;
        let part = self.part("filters");
        part.set_text_content(None);
        let period: Vec<(String, String)> = Preset::LISTED
            .iter()
            .map(|code| ((*code).to_owned(), self.t(&format!("period.{code}"))))
            .collect();
        dom::append(
            &part,
            &select(
                &self.t("filter.period"),
                "period",
                &period,
                Some(form.preset.clone()),
                None,
            )?,
        )?;
        if form.preset == "custom" {
            for (name, value) in [("from", form.from), ("to", form.to)] {
                let label = dom::element("label", "leakguard-metrics__field")?;
                dom::append(
                    &label,
                    &dom::text(
                        "span",
                        "leakguard-metrics__label",
                        &self.t(&format!("filter.{name}")),
                    )?,
                )?;
                let input: HtmlInputElement =
                    dom::element("input", "leakguard-metrics__input")?.unchecked_into();
                input.set_type("date");
                input.set_name(name);
                if let Some(date) = value {
                    input.set_value(&date.to_string());
                }
                dom::append(&label, &input)?;
                dom::append(&part, &label)?;
            }
        }
        let pipelines: Vec<(String, String)> = directory
            .pipelines
            .iter()
            .map(|p| (p.id.to_string(), p.name.clone()))
            .collect();
        dom::append(
            &part,
            &select(
                &self.t("filter.pipeline"),
                "pipeline",
                &pipelines,
                form.pipeline.map(|v| v.to_string()),
                Some(self.t("filter.all_pipelines")),
            )?,
        )?;
        let people: Vec<(String, String)> = directory
            .people
            .iter()
            .map(|p| (p.id.to_string(), p.name.clone()))
            .collect();
        dom::append(
            &part,
            &select(
                &self.t("filter.manager"),
                "manager",
                &people,
                form.manager.map(|v| v.to_string()),
                Some(self.t("filter.all_managers")),
            )?,
        )?;
        let groups: Vec<(String, String)> = directory
            .groups
            .iter()
            .map(|g| (g.0.to_string(), g.1.clone()))
            .collect();
        dom::append(
            &part,
            &select(
                &self.t("filter.group"),
                "group",
                &groups,
                form.group.map(|v| v.to_string()),
                Some(self.t("filter.all_groups")),
            )?,
        )?;
        Ok(())
    }

    fn draw_status(&self) -> Result<(), JsValue> {
        let state = self.state.borrow();
        let root = self.root.element();
        root.set_attribute("data-state", state.phase.code())?;
        root.set_attribute(
            "aria-busy",
            if matches!(state.phase, Phase::Starting | Phase::Loading(_)) {
                "true"
            } else {
                "false"
            },
        )?;
        let part = self.part("status");
        part.set_text_content(None);
        let source = self.source.get();
        root.set_attribute(
            "data-source",
            match source {
                MetricsSource::Browser => "browser",
                MetricsSource::Backend => "backend",
            },
        )?;
        let notice = match state.backend {
            BackendState::NotInstalled => Some(self.t("backend_not_installed")),
            BackendState::Failed(error) => Some(interpolate(
                &self.t("backend_failed"),
                &[("status", &backend_status(error))],
            )),
            BackendState::Absent | BackendState::Checking | BackendState::Installed => None,
        };
        if let (Some(notice), MetricsSource::Browser) = (notice, source) {
            let line = dom::text(
                "p",
                "leakguard-metrics__message leakguard-metrics__message--alert",
                &notice,
            )?;
            line.set_attribute("data-backend-notice", "")?;
            line.set_attribute("role", "alert")?;
            dom::append(&part, &line)?;
        }
        match &state.phase {
            Phase::Starting | Phase::Loading(_) => {
                let progress = match state.phase {
                    Phase::Loading(progress) => progress,
                    _ => Progress::default(),
                };
                let bar = dom::element("div", "leakguard-metrics__progress")?;
                bar.set_attribute("data-progress", "")?;
                bar.set_attribute("role", "progressbar")?;
                bar.set_attribute("aria-label", &self.t("loading"))?;
                dom::append(
                    &bar,
                    &dom::element("div", "leakguard-metrics__progress-fill")?,
                )?;
                dom::append(
                    &bar,
                    &dom::element("span", "leakguard-metrics__progress-text")?,
                )?;
                set_progress(&bar, progress, &self.t("progress"))?;
                dom::append(&part, &bar)?;
                dom::append(&part, &button(&self.t("cancel"), "cancel")?)?;
            }
            Phase::Ready { cut } => {
                match (source, state.served) {
                    (MetricsSource::Backend, Some((age, synced_at))) => {
                        let text = match age {
                            Some(age) => {
                                interpolate(&self.t("synced_ago"), &[("age", &self.age(age))])
                            }
                            None => self.t("synced_never"),
                        };
                        let line = dom::text("p", "leakguard-metrics__freshness", &text)?;
                        line.set_attribute("data-freshness", "")?;
                        if let Some(at) = synced_at {
                            line.set_attribute("data-synced-at", &at.to_string())?;
                        }
                        dom::append(&part, &line)?;
                        dom::append(
                            &part,
                            &dom::text(
                                "p",
                                "leakguard-metrics__source",
                                &self.t("source_backend"),
                            )?,
                        )?;
                        dom::append(&part, &button(&self.t("recompute"), "recompute")?)?;
                    }
                    _ => {
                        let line = dom::text(
                            "p",
                            "leakguard-metrics__freshness",
                            &interpolate(
                                &self.t("loaded_at"),
                                &[("date", &self.formats.date(state.loaded_at))],
                            ),
                        )?;
                        dom::append(&part, &line)?;
                        dom::append(
                            &part,
                            &dom::text(
                                "p",
                                "leakguard-metrics__source",
                                &self.t("source_browser"),
                            )?,
                        )?;
                        if state.backend == BackendState::Installed {
                            dom::append(&part, &button(&self.t("use_backend"), "use-backend")?)?;
                        }
                    }
                }
                if *cut {
                    dom::append(
                        &part,
                        &dom::text(
                            "p",
                            "leakguard-metrics__message leakguard-metrics__message--alert",
                            &self.t("cut"),
                        )?,
                    )?;
                }
                dom::append(&part, &button(&self.t("refresh"), "refresh")?)?;
            }
            Phase::Failed(error) => {
                let text = interpolate(
                    &self.widget.text(error_key(*error)),
                    &[("status", &status_of(*error))],
                );
                let message = dom::text(
                    "p",
                    "leakguard-metrics__message leakguard-metrics__message--alert",
                    &text,
                )?;
                message.set_attribute("role", "alert")?;
                dom::append(&part, &message)?;
                dom::append(
                    &part,
                    &button(&self.widget.text("ui.error.retry"), "refresh")?,
                )?;
            }
            Phase::Cancelled => {
                dom::append(
                    &part,
                    &dom::text("p", "leakguard-metrics__message", &self.t("cancelled"))?,
                )?;
                dom::append(&part, &button(&self.t("refresh"), "refresh")?)?;
            }
        }
        if !matches!(state.phase, Phase::Ready { .. }) {
            self.part("tiles").set_text_content(None);
            self.part("sections").set_text_content(None);
            self.part("drill").set_text_content(None);
        }
        Ok(())
    }

    fn draw_report(&self) -> Result<(), JsValue> {
        let state = self.state.borrow();
        let (Some(report), Some(filter)) = (&state.report, &state.filter) else {
            return Ok(());
        };
        let root = self.root.element();
        root.set_attribute("data-now", &state.now.to_string())?;
        root.set_attribute("data-from", &filter.period.from.to_string())?;
        root.set_attribute("data-to", &filter.period.to.to_string())?;
        let tiles = self.part("tiles");
        tiles.set_text_content(None);
        for tile in &report.tiles {
            let card = dom::element("section", "leakguard-metrics__tile")?;
            card.set_attribute("data-metric", tile.metric)?;
            dom::append(
                &card,
                &dom::text("h3", "leakguard-metrics__tile-title", &tile.title)?,
            )?;
            if let Some(count) = &tile.count {
                dom::append(
                    &card,
                    &cell(count, "leakguard-metrics__tile-count", "count")?,
                )?;
            }
            if let Some(value) = &tile.value {
                dom::append(
                    &card,
                    &cell(value, "leakguard-metrics__tile-value", "value")?,
                )?;
            }
            if let Some(comparison) = &tile.comparison {
                let line = dom::text(
                    "p",
                    &format!(
                        "leakguard-metrics__delta leakguard-metrics__delta--{}",
                        comparison.trend.code()
                    ),
                    &format!("{} {}", comparison.trend.arrow(), comparison.text),
                )?;
                line.set_attribute("data-trend", comparison.trend.code())?;
                dom::append(&card, &line)?;
            }
            if let Some(note) = &tile.note {
                dom::append(&card, &dom::text("p", "leakguard-metrics__note", note)?)?;
            }
            dom::append(&tiles, &card)?;
        }
        let sections = self.part("sections");
        sections.set_text_content(None);
        let document = self.document();
        for section in &report.sections {
            let block = dom::element("section", "leakguard-metrics__section")?;
            block.set_attribute("data-section", section.metric)?;
            dom::append(
                &block,
                &dom::text("h2", "leakguard-metrics__section-title", &section.title)?,
            )?;
            if let Some(note) = &section.note {
                dom::append(&block, &dom::text("p", "leakguard-metrics__note", note)?)?;
            }
            if let Some(chart) = &section.chart {
                let figure = dom::element("figure", "leakguard-metrics__figure")?;
                dom::append(
                    &figure,
                    &dom::text("figcaption", "leakguard-metrics__caption", &chart.title)?,
                )?;
                dom::append(&figure, &chart::draw(&document, chart)?)?;
                dom::append(&block, &figure)?;
            }
            for table in &section.tables {
                dom::append(&block, &self.table_element(table, usize::MAX)?)?;
            }
            dom::append(&sections, &block)?;
        }
        Ok(())
    }

    /// A table with its title and export buttons, showing at most `rows` rows.
    fn table_element(&self, table: &Table, rows: usize) -> Result<Element, JsValue> {
        let wrap = dom::element("div", "leakguard-metrics__table-wrap")?;
        let head = dom::element("div", "leakguard-metrics__table-head")?;
        dom::append(
            &head,
            &dom::text("h4", "leakguard-metrics__table-title", &table.title)?,
        )?;
        for (format, label) in [
            ("csv", self.t("export.csv")),
            ("xlsx", self.t("export.xlsx")),
        ] {
            let export = button(&label, "export")?;
            export.set_attribute("data-table", &table.id)?;
            export.set_attribute("data-format", format)?;
            dom::append(&head, &export)?;
        }
        dom::append(&wrap, &head)?;
        let element = dom::element("table", "leakguard-metrics__table")?;
        element.set_attribute("data-table", &table.id)?;
        let thead = dom::element("thead", "")?;
        let tr = dom::element("tr", "")?;
        for column in &table.columns {
            let th = dom::text("th", "", column)?;
            th.set_attribute("scope", "col")?;
            dom::append(&tr, &th)?;
        }
        dom::append(&thead, &tr)?;
        dom::append(&element, &thead)?;
        let body = dom::element("tbody", "")?;
        if table.rows.is_empty() {
            let tr = dom::element("tr", "")?;
            let td = dom::text("td", "leakguard-metrics__empty", &self.t("empty"))?;
            td.set_attribute("colspan", &table.columns.len().to_string())?;
            dom::append(&tr, &td)?;
            dom::append(&body, &tr)?;
        }
        for row in table.rows.iter().take(rows) {
            let tr = dom::element("tr", "")?;
            for value in row {
                let td = dom::element("td", "")?;
                dom::append(&td, &cell(value, "", "")?)?;
                dom::append(&tr, &td)?;
            }
            dom::append(&body, &tr)?;
        }
        dom::append(&element, &body)?;
        dom::append(&wrap, &element)?;
        Ok(wrap)
    }

    fn draw_drill(&self) -> Result<(), JsValue> {
        let part = self.part("drill");
        part.set_text_content(None);
        let Some((_, shown)) = self.state.borrow().drill else {
            part.remove_attribute("data-open")?;
            return Ok(());
        };
        let Some(table) = self.table("deals") else {
            return Ok(());
        };
        part.set_attribute("data-open", "")?;
        let head = dom::element("div", "leakguard-metrics__drill-head")?;
        dom::append(
            &head,
            &dom::text(
                "h3",
                "leakguard-metrics__drill-title",
                &interpolate(
                    &self.t("drill.title"),
                    &[
                        ("title", &table.title),
                        ("count", &self.formats.count(table.rows.len() as i64)),
                    ],
                ),
            )?,
        )?;
        dom::append(&head, &button(&self.t("drill.close"), "close")?)?;
        dom::append(&part, &head)?;
        dom::append(&part, &self.table_element(&table, shown)?)?;
        if table.rows.len() > shown {
            let left = (table.rows.len() - shown).min(DRILL_PAGE) as i64;
            dom::append(
                &part,
                &button(
                    &interpolate(
                        &self.t("drill.more"),
                        &[("count", &self.formats.count(left))],
                    ),
                    "more",
                )?,
            )?;
        }
        Ok(())
    }
}

/// The i18n key of a failed request's message.
fn error_key(error: HttpError) -> &'static str {
    match error {
        HttpError::Network => "ui.error.network",
        HttpError::Malformed => "ui.error.malformed",
        HttpError::Status(401) => "ui.error.unauthorized",
        HttpError::Status(403) => "ui.metrics.forbidden",
        HttpError::Status(429) => "ui.error.rate_limited",
        HttpError::Status(_) => "ui.error.http",
    }
}

/// What went wrong with the backend, for the `{status}` of its notice.
fn backend_status(error: HttpError) -> String {
    match error {
        HttpError::Status(status) => status.to_string(),
        HttpError::Network => "network".to_owned(),
        HttpError::Malformed => "malformed".to_owned(),
    }
}

/// The HTTP status of a failed request, for the `{status}` of its message.
fn status_of(error: HttpError) -> String {
    match error {
        HttpError::Status(status) => status.to_string(),
        HttpError::Network | HttpError::Malformed => String::new(),
    }
}

fn set_progress(bar: &Element, progress: Progress, template: &str) -> Result<(), JsValue> {
    let estimate = progress.estimate.max(progress.loaded).max(1);
    let percent = progress.loaded * 100 / estimate;
    bar.set_attribute("data-loaded", &progress.loaded.to_string())?;
    bar.set_attribute("data-estimate", &progress.estimate.to_string())?;
    bar.set_attribute("aria-valuemin", "0")?;
    bar.set_attribute("aria-valuemax", &estimate.to_string())?;
    bar.set_attribute("aria-valuenow", &progress.loaded.to_string())?;
    if let Some(fill) = bar.first_element_child() {
        fill.set_attribute("style", &format!("width: {percent}%"))?;
    }
    if let Some(text) = bar.last_element_child() {
        text.set_text_content(Some(&interpolate(
            template,
            &[
                ("loaded", &progress.loaded.to_string()),
                ("total", &estimate.to_string()),
            ],
        )));
    }
    Ok(())
}

fn button(label: &str, action: &str) -> Result<Element, JsValue> {
    let button = dom::text(
        "button",
        &format!("leakguard-metrics__button leakguard-metrics__button--{action}"),
        label,
    )?;
    button.set_attribute("type", "button")?;
    button.set_attribute("data-action", action)?;
    Ok(button)
}

/// A labelled `<select>`: `empty` adds a first "all" option with an empty value.
fn select(
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: Option<String>,
    empty: Option<String>,
) -> Result<Element, JsValue> {
    let field = dom::element("label", "leakguard-metrics__field")?;
    dom::append(
        &field,
        &dom::text("span", "leakguard-metrics__label", label)?,
    )?;
    let element: HtmlSelectElement =
        dom::element("select", "leakguard-metrics__select")?.unchecked_into();
    element.set_name(name);
    let all = empty.map(|text| (String::new(), text));
    for (value, text) in all.iter().chain(options) {
        let option = dom::text("option", "", text)?;
        option.set_attribute("value", value)?;
        if selected.as_deref() == Some(value.as_str()) || (selected.is_none() && value.is_empty()) {
            option.set_attribute("selected", "")?;
        }
        dom::append(&element, &option)?;
    }
    dom::append(&field, &element)?;
    Ok(field)
}

/// A cell's content: drillable numbers are buttons, deals are links the host router opens.
fn cell(value: &Cell, class: &str, field: &str) -> Result<Element, JsValue> {
    let with = |element: Element, raw: Option<i64>| -> Result<Element, JsValue> {
        if !field.is_empty() {
            element.set_attribute("data-field", field)?;
        }
        if let Some(raw) = raw {
            element.set_attribute("data-value", &raw.to_string())?;
        }
        Ok(element)
    };
    let number = |value: i64, text: &str, drill: Option<usize>| -> Result<Element, JsValue> {
        let element = match drill {
            Some(index) => {
                let element = button(text, "drill")?;
                element.set_attribute("data-drill", &index.to_string())?;
                element.set_class_name(&format!("leakguard-metrics__drill-link {class}"));
                element
            }
            None => dom::text("span", &format!("leakguard-metrics__number {class}"), text)?,
        };
        with(element, Some(value))
    };
    match value {
        Cell::Text(text) => with(dom::text("span", class, text)?, None),
        Cell::Count { value, text, drill } | Cell::Money { value, text, drill } => {
            number(*value, text, *drill)
        }
        Cell::Share { basis_points, text } => with(
            dom::text("span", &format!("leakguard-metrics__number {class}"), text)?,
            Some(*basis_points),
        ),
        Cell::Change { value, text, trend } => {
            let element = dom::text(
                "span",
                &format!(
                    "leakguard-metrics__delta leakguard-metrics__delta--{} {class}",
                    trend.code()
                ),
                &format!("{} {text}", trend.arrow()),
            )?;
            element.set_attribute("data-trend", trend.code())?;
            with(element, Some(*value))
        }
        Cell::Deal { id, name } => {
            let link = dom::text(
                "a",
                &format!("js-navigate-link leakguard-metrics__deal {class}"),
                name,
            )?;
            link.set_attribute("href", &format!("/leads/detail/{id}"))?;
            link.set_attribute("data-deal", &id.to_string())?;
            with(link, None)
        }
    }
}

/// The XLSX module's rows as JavaScript arrays of cells.
fn js_rows(rows: &[Vec<XlsxCell>]) -> js_sys::Array {
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    XlsxCell::Text(text) => JsValue::from_str(text),
                    XlsxCell::Number(number) => JsValue::from_f64(*number),
                    XlsxCell::Share(share) => object(&[("share", JsValue::from_f64(*share))]),
                    XlsxCell::Link { text, url } => object(&[
                        ("text", JsValue::from_str(text)),
                        ("url", JsValue::from_str(url)),
                    ]),
                })
                .collect::<js_sys::Array>()
        })
        .collect()
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}
