//! Loading a scope's lists page by page: a few requests in flight at once (the page's limiter
//! holds them to 7 per second), each page decoded and checked as it arrives, progress reported
//! as pages loaded of estimated, and everything stopped by the load's abort signal.

use std::cell::RefCell;
use std::rc::Rc;

use amo_api::{LossReason, Page, Pipeline};
use futures_util::future::join_all;
use gloo_timers::future::TimeoutFuture;
use web_sys::AbortSignal;

use crate::data::{Dataset, List};
use crate::http::{get_bytes, HttpError};
use crate::plan::PagePlan;
use crate::scope::{open_tasks, Scope};

/// Requests in flight at once: enough to reach the 7-per-second limit when each takes ~0.5 s.
const PARALLEL: usize = 4;

/// The most pages one list is read to (500 000 items); longer lists are cut and reported.
const MAX_PAGES: u32 = 2_000;

/// Pages loaded of estimated, over every list of the load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub loaded: u32,
    pub estimate: u32,
}

/// How a load ended well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Whether a list was longer than the guard and so was cut.
    pub cut: bool,
}

/// The pipelines with their stages and the loss reasons: two requests, once per page.
pub async fn directory(
    signal: &AbortSignal,
) -> Result<(Vec<Pipeline>, Vec<LossReason>), HttpError> {
    let pipelines = get_bytes("/api/v4/leads/pipelines", signal).await?;
    let pipelines: Page<Pipeline> = decode(pipelines.as_deref())?;
    let reasons = get_bytes("/api/v4/leads/loss_reasons", signal).await?;
    let reasons: Page<LossReason> = decode(reasons.as_deref())?;
    Ok((pipelines.items, reasons.items))
}

fn decode<T>(body: Option<&[u8]>) -> Result<Page<T>, HttpError>
where
    Page<T>: serde::de::DeserializeOwned,
{
    body.map_or(Ok(Page::empty()), |body| {
        serde_json::from_slice(body).map_err(|_| HttpError::Malformed)
    })
}

/// One list of a load: what to ask for and how far it got.
struct Job {
    list: List,
    plan: PagePlan,
    path: Box<dyn Fn(u32) -> String>,
}

struct Shared {
    jobs: Vec<Job>,
    /// Where the round-robin over the lists continues.
    cursor: usize,
    error: Option<HttpError>,
}

impl Shared {
    fn next(&mut self) -> Option<(usize, u32)> {
        let count = self.jobs.len();
        (0..count).find_map(|k| {
            let i = (self.cursor + k) % count;
            let page = self.jobs[i].plan.next_page()?;
            self.cursor = i + 1;
            Some((i, page))
        })
    }

    fn progress(&self) -> Progress {
        self.jobs
            .iter()
            .fold(Progress::default(), |p, job| Progress {
                loaded: p.loaded + job.plan.loaded(),
                estimate: p.estimate + job.plan.estimate(),
            })
    }

    fn is_done(&self) -> bool {
        self.jobs.iter().all(|job| job.plan.is_done())
    }
}

/// Loads the open deals and the lost deals of `scope` into `data`, and every open lead task when
/// `tasks` is set. `stages` lists the account's `(pipeline, status)` pairs.
pub async fn load(
    scope: &Scope,
    stages: &[(u32, u32)],
    tasks: bool,
    data: &Rc<RefCell<Dataset>>,
    signal: &AbortSignal,
    on_progress: &dyn Fn(Progress),
) -> Result<Loaded, HttpError> {
    let paged = |query: amo_api::LeadsQuery| -> Box<dyn Fn(u32) -> String> {
        Box::new(move |page| {
            let mut query = query.clone();
            query.page = Some(page);
            query.to_path()
        })
    };
    let mut jobs = Vec::new();
    if !scope.is_empty() {
        jobs.push((List::OpenDeals, paged(scope.open_deals(stages))));
        jobs.push((List::LostDeals, paged(scope.lost_deals(stages))));
    }
    if tasks {
        let tasks_path: Box<dyn Fn(u32) -> String> = Box::new(|page| {
            let mut query = open_tasks();
            query.page = Some(page);
            query.to_path()
        });
        jobs.push((List::OpenTasks, tasks_path));
    }
    let shared = Rc::new(RefCell::new(Shared {
        jobs: jobs
            .into_iter()
            .map(|(list, path)| Job {
                list,
                plan: PagePlan::new(amo_api::query::MAX_LIMIT as usize, MAX_PAGES),
                path,
            })
            .collect(),
        cursor: 0,
        error: None,
    }));
    on_progress(shared.borrow().progress());
    let workers = (0..PARALLEL).map(|_| worker(&shared, scope, data, signal, on_progress));
    join_all(workers).await;
    let shared = shared.borrow();
    match shared.error {
        Some(error) => Err(error),
        None => Ok(Loaded {
            cut: shared.jobs.iter().any(|job| job.plan.was_cut()),
        }),
    }
}

async fn worker(
    shared: &Rc<RefCell<Shared>>,
    scope: &Scope,
    data: &Rc<RefCell<Dataset>>,
    signal: &AbortSignal,
    on_progress: &dyn Fn(Progress),
) {
    loop {
        if shared.borrow().error.is_some() || signal.aborted() {
            return;
        }
        let next = shared.borrow_mut().next();
        let Some((job, page)) = next else {
            if shared.borrow().is_done() {
                return;
            }
            // Another worker's answer decides what comes next.
            TimeoutFuture::new(10).await;
            continue;
        };
        let (list, url) = {
            let shared = shared.borrow();
            (shared.jobs[job].list, (shared.jobs[job].path)(page))
        };
        let answer = get_bytes(&url, signal).await;
        let mut state = shared.borrow_mut();
        match answer.and_then(|body| {
            data.borrow_mut()
                .add_page(list, body.as_deref(), scope)
                .map_err(|_| HttpError::Malformed)
        }) {
            Ok(items) => state.jobs[job].plan.record(page, items),
            Err(error) => {
                state.jobs[job].plan.retry(page);
                state.error.get_or_insert(error);
                return;
            }
        }
        let progress = state.progress();
        drop(state);
        on_progress(progress);
    }
}
