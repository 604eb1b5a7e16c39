//! The lead-card location: mounts our root into the card's right column, checks the deal's open tasks
//! once, keeps them current from the card's own task events and shows the next-step panel; the
//! mandatory-next-step guard (`crate::guard`) decides on the same state.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use amo_api::tasks::EntityType;
use amo_api::Task;
use leakguard_core::deal::{is_closed_status, UserContext};
use leakguard_core::guard::{GuardDecision, OpenTaskKnowledge};
use leakguard_core::tasks::{next_step, OpenTask};
use web_sys::Element;

use crate::audit::AuditEvent;
use crate::dom::{self, Listener, Owned};
use crate::effects::http::{self, HttpError};
use crate::effects::{self};
use crate::error::Error;
use crate::guard::book::TaskBook;
use crate::guard::{self, Guard};
use crate::host::{self, Widget};
use crate::intl::{DateFormat, DateStyle, Zone};
use crate::render::card::{draw, view, Panel, PanelButton};
use crate::render::Texts;

/// The mounted panel and guard of one open lead card. Dropping it removes everything it added to the page.
#[derive(Debug)]
pub struct CardApp(Rc<Card>);

#[derive(Debug)]
pub(crate) struct Card {
    pub(crate) widget: Widget,
    pub(crate) lead_id: u64,
    dates: DateFormat,
    /// Deadlines in the coming days, with the weekday (the dialog's presets).
    pub(crate) weekday_dates: DateFormat,
    /// The account's zone, for the core's working-day deadlines.
    pub(crate) zone: Zone,
    /// Our one element in the card's widget block (`data-leakguard-root`).
    root: Owned,
    /// The stylesheet link, when this card added it.
    _stylesheet: Option<Owned>,
    /// The listener of the button currently drawn, replaced with every drawing.
    listener: RefCell<Option<Listener>>,
    /// The requests in flight, aborted when a newer load starts or the card goes away.
    request: RefCell<Option<http::InFlight>>,
    /// Counts loads, so an answer to an older load is ignored.
    loads: Cell<u32>,
    /// Why the last check failed.
    last_error: Cell<Option<HttpError>>,
    pub(crate) settings: crate::settings::Config,
    pub(crate) user: UserContext,
    pub(crate) book: RefCell<TaskBook>,
    pub(crate) guard: Guard,
    /// The refusal picker, after the panel in the widget block.
    pub(crate) refusals: crate::refusal::Refusals,
    /// The payments button, section and stage gate, after the picker; `None` when switched off.
    pub(crate) payments: Option<crate::payments::Payments>,
}

impl CardApp {
    /// Draws the widget block, mounts our root into its body, arms the guard as the deal needs and
    /// shows the first state. `reopen` opens the dialog as soon as the tasks are known (the manager
    /// came back after leaving with browser Back).
    pub fn mount(widget: Widget, lead_id: u64, reopen: bool) -> Result<Self, Error> {
        let body = block_body(&widget)?;
        let root = dom::element("div", "leakguard-card")?;
        root.set_attribute("data-leakguard-root", "")?;
        root.set_attribute("role", "region")?;
        root.set_attribute("aria-live", "polite")?;
        root.set_attribute("aria-label", &widget.text("ui.card.title"))?;
        body.append_child(&root)?;
        let root = Owned::new(root);
        let stylesheet = match widget.base_url() {
            Some(base) => {
                dom::attach_stylesheet(&format!("{base}/style.css?v={}", widget.version()))?
            }
            None => None,
        };
        let language = host::user_language();
        let timezone = host::account_timezone();
        let code = widget.code().unwrap_or_default();
        let refusals = crate::refusal::Refusals::new(&body)?;
        let payments = match lead_id {
            0 => None,
            _ => crate::payments::Payments::new(&body, &widget)?,
        };
        let card = Card {
            dates: DateFormat::new(language.as_deref(), timezone.as_deref()),
            weekday_dates: DateFormat::with_style(
                DateStyle::Weekday,
                language.as_deref(),
                timezone.as_deref(),
            ),
            zone: Zone::new(timezone.as_deref()),
            settings: crate::settings::load(&widget.config()).unwrap_or_default(),
            user: host::current_user().unwrap_or_default(),
            widget,
            lead_id,
            root,
            _stylesheet: stylesheet,
            listener: RefCell::new(None),
            request: RefCell::new(None),
            loads: Cell::new(0),
            last_error: Cell::new(None),
            book: RefCell::new(TaskBook::default()),
            guard: Guard::new(&code, reopen),
            refusals,
            payments,
        };
        let card = Rc::new(card);
        if lead_id > 0 {
            guard::attach(&card);
            crate::refusal::attach(&card);
            crate::payments::attach(&card);
            if reopen {
                guard::record(&card, AuditEvent::ReturnedAfterBack);
            }
        }
        guard::refresh(&card);
        Ok(Self(card))
    }

    /// The lead this panel belongs to.
    pub fn lead_id(&self) -> u64 {
        self.0.lead_id
    }

    /// `render` again for the same card: redraws the block and moves our root back in if amoCRM replaced it.
    pub fn remount(&self, widget: &Widget) -> Result<(), Error> {
        let body = block_body(widget)?;
        let root = self.0.root.element();
        if root.parent_element().as_ref() != Some(&body) {
            body.append_child(root)?;
        }
        Ok(())
    }

    /// Starts the first check of a saved deal (`init`); later calls do nothing.
    /// A closed deal needs no next step, so it is not checked until it is moved to an open stage.
    pub fn start(&self) {
        let card = &self.0;
        if card.lead_id == 0 || card.loads.get() > 0 {
            return;
        }
        if is_closed_status(host::current_lead_status().unwrap_or_default()) {
            card.loads.set(1);
            guard::refresh(card);
        } else {
            load(card);
        }
    }
}

/// Calls `render_template` and finds the body of our block.
fn block_body(widget: &Widget) -> Result<Element, Error> {
    widget.render_card_block()?;
    widget.card_body().ok_or(Error::NoCardBlock)
}

impl Card {
    /// Redraws the panel for the current state; `decision` is the guard's.
    pub(crate) fn show_panel(self: &Rc<Self>, decision: GuardDecision) {
        let panel = if self.lead_id == 0 {
            Panel::NewCard
        } else {
            let status = host::current_lead_status().unwrap_or_default();
            let now = effects::now_unix();
            match self.book.borrow().knowledge() {
                _ if is_closed_status(status) => Panel::Ready(next_step(status, &[], now)),
                OpenTaskKnowledge::Unknown => Panel::Loading,
                OpenTaskKnowledge::Failed => {
                    Panel::Failed(self.last_error.get().unwrap_or(HttpError::Network))
                }
                OpenTaskKnowledge::Known(_) => {
                    Panel::Ready(next_step(status, &self.book.borrow().tasks(), now))
                }
            }
        };
        let weak = Rc::downgrade(self);
        let drawn = draw(
            self.root.element(),
            &view(&panel, decision == GuardDecision::Block, self.as_ref()),
            move |button| on_panel_button(&weak, button),
        );
        // A failed drawing leaves the previous content; there is nothing better to show.
        *self.listener.borrow_mut() = drawn.ok().flatten();
    }

    /// Why the last check failed, if it did.
    pub(crate) fn last_error(&self) -> Option<HttpError> {
        self.last_error.get()
    }

    /// Whether a check is running.
    pub(crate) fn checking(&self) -> bool {
        self.request.borrow().is_some()
    }
}

impl Texts for Card {
    fn text(&self, key: &str) -> String {
        self.widget.text(key)
    }

    fn date(&self, unix_seconds: i64) -> String {
        self.dates.format(unix_seconds)
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        guard::remember_exit(self);
    }
}

/// The panel button's handler: acts after the click handler has returned, because both actions
/// redraw the panel and so drop the listener that is running.
fn on_panel_button(card: &Weak<Card>, button: PanelButton) {
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(card) = card.upgrade() {
            match button {
                PanelButton::Retry => load(&card),
                PanelButton::Plan => guard::open_manual(&card),
            }
        }
    });
}

/// Asks amoCRM for the deal's open tasks (the check on card open, a retry, or a closed deal moved back to an open stage).
pub(crate) fn load(card: &Rc<Card>) {
    let generation = card.loads.get() + 1;
    card.loads.set(generation);
    drop(card.request.take());
    let request = match http::InFlight::new() {
        Ok(request) => request,
        Err(error) => {
            card.last_error.set(Some(error));
            card.book.borrow_mut().check_failed();
            guard::refresh(card);
            return;
        }
    };
    let signal = request.signal();
    *card.request.borrow_mut() = Some(request);
    card.book.borrow_mut().checking();
    guard::refresh(card);
    let lead_id = card.lead_id;
    let weak = Rc::downgrade(card);
    wasm_bindgen_futures::spawn_local(async move {
        let result = http::open_lead_tasks(lead_id, &signal).await;
        // The card may have been destroyed or reloaded while the request was running.
        let Some(card) = weak.upgrade().filter(|card| card.loads.get() == generation) else {
            return;
        };
        card.request.take();
        match result {
            Ok(tasks) => {
                card.last_error.set(None);
                card.book.borrow_mut().checked(open_tasks(lead_id, tasks));
                card.guard.checked();
            }
            Err(error) => {
                card.last_error.set(Some(error));
                card.book.borrow_mut().check_failed();
            }
        }
        guard::refresh(&card);
    });
}

/// The tasks that really are open and attached to this lead, as the core sees them.
///
/// amoCRM silently ignores filters it does not support, so the answer is checked here.
pub(crate) fn open_tasks(lead_id: u64, tasks: Vec<Task>) -> Vec<OpenTask> {
    tasks
        .into_iter()
        .filter(|task| {
            !task.is_completed
                && task.entity_type == Some(EntityType::Leads)
                && task.entity_id == Some(lead_id)
        })
        .map(|task| OpenTask {
            id: task.id,
            text: task.text,
            complete_till: task.complete_till,
            task_type_id: task.task_type_id,
            responsible_user_id: task.responsible_user_id,
        })
        .collect()
}
