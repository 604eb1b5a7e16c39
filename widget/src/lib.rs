//! The LeakGuard widget shell: wasm exports that script.js forwards amoCRM callbacks to.
