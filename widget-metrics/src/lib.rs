//! LeakGuard's key-metrics page, a wasm module of its own that the widget imports only on its
//! advanced-settings page, so the page's code never weighs on the lead card.
//!
//! * [`mount`]: draws the page into `#work-area-<code>`; freeing the returned [`MetricsPage`]
//!   removes it again and aborts its requests.
//! * [`benchmark`]: decodes list pages and computes the metrics the way the page does, for the
//!   benchmark script that compares it with a plain JavaScript implementation.
//!
//! The metrics themselves are the core's (`leakguard_core::metrics`); this crate loads the data
//! ([`load`], [`plan`], [`scope`], [`data`]), describes the view ([`report`], [`chart`]) and exports it ([`export`]).

mod backend;
pub mod chart;
pub mod compute;
pub mod data;
mod dom;
mod effects;
pub mod export;
mod host;
mod http;
pub mod intl;
mod load;
mod page;
pub mod payments;
pub mod plan;
pub mod report;
pub mod scope;

use std::collections::BTreeSet;
use std::rc::Rc;

use leakguard_core::locale::Lang;
use leakguard_core::metrics::{Filter, Period};
use wasm_bindgen::prelude::*;

use data::{Dataset, List};
use intl::ZoneOffsets;

/// The mounted page; `free()` (or being dropped) removes it.
#[wasm_bindgen]
pub struct MetricsPage {
    _page: Rc<page::Page>,
}

/// Draws the key-metrics page for `widget` (amoCRM's widget object) into `area`.
#[wasm_bindgen]
pub fn mount(widget: host::Widget, area: web_sys::Element) -> Result<MetricsPage, JsError> {
    page::Page::mount(widget, &area)
        .map(|page| MetricsPage { _page: page })
        .map_err(|error| {
            JsError::new(&format!(
                "LeakGuard: the metrics page could not be drawn: {error:?}"
            ))
        })
}

/// Decodes `lead_pages` (deals of any status) and `task_pages` (tasks), each an array of page
/// bodies as fetched (`Uint8Array`s of UTF-8 JSON), and computes the key metrics at
/// `times = [now, from, to]` for the period `[from, to)` in `zone` with the settings `config`.
/// Returns the headline numbers as a flat array:
/// `[lost count, lost value, previous lost count, previous lost value, overdue count, overdue value,
/// without-task count, without-task value, stuck count, stuck value, escalated count]`.
#[wasm_bindgen]
pub fn benchmark(
    lead_pages: js_sys::Array,
    task_pages: js_sys::Array,
    times: Vec<f64>,
    zone: &str,
    config: &str,
    country: &str,
) -> Result<Vec<f64>, JsError> {
    let &[now, from, to] = times.as_slice() else {
        return Err(JsError::new("times is [now, from, to]"));
    };
    let filter = Filter::period(Period {
        from: from as i64,
        to: to as i64,
    });
    let scope = scope::Scope::for_filter(&filter, |_| BTreeSet::new());
    let mut data = Dataset::default();
    let malformed = |_| JsError::new("a page is not the JSON the API sends");
    for (list, pages) in [(List::AnyDeals, lead_pages), (List::OpenTasks, task_pages)] {
        for page in pages.iter() {
            let body = js_sys::Uint8Array::new(&page).to_vec();
            data.add_page(list, Some(&body), &scope)
                .map_err(malformed)?;
        }
    }
    let context = compute::Context::new(
        Some(config),
        Some(country),
        ZoneOffsets::new(Some(zone)),
        Lang::En,
    );
    let m = context.compute(&data, &filter, now as i64);
    let pair = |b: &leakguard_core::metrics::Bucket| [b.count as f64, b.value as f64];
    let mut out = Vec::with_capacity(11);
    for bucket in [
        &m.lost.total,
        &m.lost_previous.total,
        &m.overdue_tasks.total,
        &m.without_task.total,
        &m.stuck.stuck.total,
    ] {
        out.extend(pair(bucket));
    }
    out.push(m.stuck.escalated.count as f64);
    Ok(out)
}
