//! The LeakGuard sandbox: a faithful local amoCRM (API v4 mock, lead card pages, widget CDN).
//!
//! One process serves two loopback origins: the account origin (fake amoCRM pages, `/api/v4`, `/ajax/sandbox/*`,
//! `/__sandbox/*`) and the CDN origin (`/widgets/{code}/{version}/{file}` from uploaded archives).
//! The API follows the contract written down in the project's amoCRM API v4 reference; where that reference
//! marks behaviour unconfirmed, the choice made is documented next to the code and switchable in [`ApiOptions`].

pub mod ajax;
pub mod api;
pub mod auth;
pub mod cdn;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod faults;
pub mod hal;
pub mod jwt;
pub mod pages;
pub mod problem;
pub mod query;
pub mod ratelimit;
pub mod requestlog;
pub mod routes;
pub mod server;
pub mod state;
pub mod widgets;

pub use config::{ApiOptions, Config, Fixture, OverLimit, RateLimit, WidgetSource};
pub use server::{start, Running};
pub use state::SandboxState;
