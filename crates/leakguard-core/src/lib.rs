//! LeakGuard domain core: pure rules, working-day date math and view decisions, with no IO, no clock and no wasm dependency.
