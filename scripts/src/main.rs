//! `cargo xtask`: the project automation — install tools, pack the widget archive, run every test, start the demo.

mod demo;
mod install;
mod logos;
mod pack;
mod sh;
mod test;
#[cfg(test)]
mod tidy;

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

const USAGE: &str = "\
usage: cargo xtask <command>

  demo      install what is missing, pack the widget, start the sandbox with demo data
  test      install what is missing and run every test (native, browser DOM, end to end)
  pack      build dist/widget.zip, the archive an admin uploads to amoCRM / Kommo
  install   install the toolchain pieces the other commands need (idempotent)
  logos     regenerate widget/images/*.png from their drawing code
";

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    match args.first().map(String::as_str) {
        Some("demo") => demo::run(rest),
        Some("test") => test::run(rest),
        Some("pack") => pack::run().map(|_| ()),
        Some("install") => install::run(install::Needs::all()),
        Some("logos") => logos::write_all(&root().join("widget/images")),
        Some("help") | Some("--help") | Some("-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n{USAGE}"),
    }
}

/// The workspace root: the parent of this crate's directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the xtask crate lives one level below the workspace root")
        .to_path_buf()
}
