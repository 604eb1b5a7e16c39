//! The LeakGuard sandbox: a faithful local amoCRM (API v4 mock, lead card pages, widget CDN).
