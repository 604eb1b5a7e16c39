//! The lead-card location: mounts our root into the card's right column, loads the deal's open tasks,
//! asks the core for the next-step status and keeps the panel up to date until `destroy` drops it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use amo_api::tasks::EntityType;
use amo_api::Task;
use leakguard_core::tasks::{next_step, NextStep, OpenTask};
use web_sys::Element;

use crate::dom::{self, Listener, Owned};
use crate::effects::{self, http};
use crate::error::Error;
use crate::host::{self, Widget};
use crate::intl::DateFormat;
use crate::render::card::{draw, view, Panel};
use crate::render::Texts;

/// The mounted panel of one open lead card. Dropping it removes everything it added to the page.
#[derive(Debug)]
pub struct CardApp(Rc<Card>);

#[derive(Debug)]
struct Card {
    widget: Widget,
    lead_id: u64,
    dates: DateFormat,
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
}

impl CardApp {
    /// Draws the widget block, mounts our root into its body and shows the first state.
    pub fn mount(widget: Widget, lead_id: u64) -> Result<Self, Error> {
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
        let card = Card {
            dates: DateFormat::new(
                host::user_language().as_deref(),
                host::account_timezone().as_deref(),
            ),
            widget,
            lead_id,
            root,
            _stylesheet: stylesheet,
            listener: RefCell::new(None),
            request: RefCell::new(None),
            loads: Cell::new(0),
        };
        let card = Rc::new(card);
        card.show(&if lead_id == 0 {
            Panel::NewCard
        } else {
            Panel::Loading
        });
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

    /// Starts the first load of a saved deal (`init`); later calls do nothing.
    pub fn start(&self) {
        if self.0.lead_id > 0 && self.0.loads.get() == 0 {
            load(&self.0);
        }
    }
}

/// Calls `render_template` and finds the body of our block.
fn block_body(widget: &Widget) -> Result<Element, Error> {
    widget.render_card_block()?;
    widget.card_body().ok_or(Error::NoCardBlock)
}

impl Card {
    fn show(self: &Rc<Self>, panel: &Panel) {
        let weak = Rc::downgrade(self);
        let drawn = draw(
            self.root.element(),
            &view(panel, self.as_ref()),
            move || retry(&weak),
        );
        // A failed drawing leaves the previous content; there is nothing better to show.
        *self.listener.borrow_mut() = drawn.ok().flatten();
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

/// The retry button's handler: starts a new load after the click handler has returned,
/// because the load redraws the panel and so drops the listener that is running.
fn retry(card: &Weak<Card>) {
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(card) = card.upgrade() {
            load(&card);
        }
    });
}

/// Shows the loading state and asks amoCRM for the deal's open tasks, unless the deal is already closed.
fn load(card: &Rc<Card>) {
    let generation = card.loads.get() + 1;
    card.loads.set(generation);
    drop(card.request.take());
    let status = host::current_lead_status().unwrap_or_default();
    if let closed @ NextStep::Closed { .. } = next_step(status, &[], effects::now_unix()) {
        card.show(&Panel::Ready(closed));
        return;
    }
    let request = match http::InFlight::new() {
        Ok(request) => request,
        Err(error) => return card.show(&Panel::Failed(error)),
    };
    let signal = request.signal();
    *card.request.borrow_mut() = Some(request);
    card.show(&Panel::Loading);
    let lead_id = card.lead_id;
    let weak = Rc::downgrade(card);
    wasm_bindgen_futures::spawn_local(async move {
        let result = http::open_lead_tasks(lead_id, &signal).await;
        // The card may have been destroyed or reloaded while the request was running.
        let Some(card) = weak.upgrade().filter(|card| card.loads.get() == generation) else {
            return;
        };
        card.request.take();
        let panel = match result {
            Ok(tasks) => {
                let status = host::current_lead_status().unwrap_or_default();
                Panel::Ready(next_step(
                    status,
                    &open_tasks(lead_id, tasks),
                    effects::now_unix(),
                ))
            }
            Err(error) => Panel::Failed(error),
        };
        card.show(&panel);
    });
}

/// The tasks that really are open and attached to this lead, as the core sees them.
///
/// amoCRM silently ignores filters it does not support, so the answer is checked here.
fn open_tasks(lead_id: u64, tasks: Vec<Task>) -> Vec<OpenTask> {
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
