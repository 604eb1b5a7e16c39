//! `cargo xtask test`: installs what is missing, then runs every test layer in order — native
//! `cargo test`, the packed archive's checks, browser DOM tests (wasm-bindgen-test in headless
//! Chromium) and the end-to-end tests that load the packed archive in the sandbox.

use crate::{install, pack, root, sh};
use anyhow::{bail, Result};

/// The layers, in the order they run.
const LAYERS: [&str; 3] = ["native", "wasm", "e2e"];

pub fn run(args: &[String]) -> Result<()> {
    let mut only: Vec<&str> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--only" => match iter.next().map(String::as_str) {
                Some(layer) if LAYERS.contains(&layer) => {
                    only.push(LAYERS[LAYERS.iter().position(|l| *l == layer).unwrap()])
                }
                other => bail!("--only takes one of {LAYERS:?}, got {other:?}"),
            },
            other => bail!(
                "unknown argument `{other}` (usage: cargo xtask test [--only native|wasm|e2e]...)"
            ),
        }
    }
    let wants = |layer: &str| only.is_empty() || only.contains(&layer);
    install::run(install::Needs {
        wasm: true,
        browser: wants("wasm") || wants("e2e"),
        host: wants("e2e"),
        e2e: wants("e2e"),
        postgres: wants("native"),
    })?;
    let root = root();

    if wants("native") {
        // The backend's integration tests run on SQLite and, with this URL, on PostgreSQL too.
        let pg = install::postgres_url().unwrap_or_default();
        sh::run(
            &root,
            "cargo",
            &["test", "--workspace"],
            &[("LEAKGUARD_TEST_POSTGRES_URL", pg.as_str())],
        )?;
    }
    if wants("wasm") || wants("e2e") {
        pack::run()?;
    }
    let chromedriver = which("chromedriver");
    let chromium = which("chromium");
    if wants("wasm") {
        sh::run(
            &root,
            "cargo",
            &[
                "test",
                "-p",
                "leakguard-widget",
                "-p",
                "leakguard-widget-shared",
                "--target",
                "wasm32-unknown-unknown",
            ],
            &[
                ("CHROMEDRIVER", &chromedriver),
                ("WASM_BINDGEN_TEST_TIMEOUT", "60"),
            ],
        )?;
    }
    if wants("e2e") {
        // The backend runs beside the sandbox in the tests of the widget's backend pages.
        sh::run(
            &root,
            "cargo",
            &["build", "-p", "leakguard-sandbox", "-p", "leakguard-server"],
            &[],
        )?;
        let sandbox = root.join("target/debug/leakguard-sandbox");
        let server = root.join("target/debug/leakguard-server");
        let zip = root.join("dist/widget.zip");
        sh::run(
            &root.join("tests"),
            "node",
            &["--test", "--test-concurrency=1", "e2e/"],
            &[
                ("LEAKGUARD_SANDBOX_BIN", sandbox.to_str().unwrap()),
                ("LEAKGUARD_SERVER_BIN", server.to_str().unwrap()),
                ("LEAKGUARD_WIDGET_ZIP", zip.to_str().unwrap()),
                ("CHROMIUM", &chromium),
            ],
        )?;
    }
    Ok(())
}

fn which(program: &str) -> String {
    sh::output("which", &[program]).unwrap_or_else(|| program.to_string())
}
