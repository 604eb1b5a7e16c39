//! `cargo xtask demo`: packs the widget and starts the sandbox (a local amoCRM) with demo data and
//! the widget installed, printing the URL of a deal card to open. Extra arguments go to the sandbox.

use crate::{install, pack, root, sh};
use anyhow::Result;

pub fn run(args: &[String]) -> Result<()> {
    install::run(install::Needs { wasm: true, browser: false, host: true, e2e: false })?;
    let packed = pack::run()?;
    let root = root();
    sh::run(&root, "cargo", &["build", "--release", "-p", "leakguard-sandbox"], &[])?;
    let widget = format!("leakguard={}", packed.zip.display());
    let mut sandbox_args = vec!["--widget", widget.as_str()];
    sandbox_args.extend(args.iter().map(String::as_str));
    let bin = root.join("target/release/leakguard-sandbox");
    sh::run(&root, bin.to_str().unwrap(), &sandbox_args, &[])
}
