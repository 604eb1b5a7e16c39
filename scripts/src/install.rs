//! Idempotent installation of what the build and the tests need: the wasm target, the pinned
//! wasm-bindgen CLI, wasm-opt (npm binaryen 132), Debian's Chromium + ChromeDriver and npm packages.

use crate::{root, sh};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Which groups of tools a command needs.
#[derive(Clone, Copy)]
pub struct Needs {
    pub wasm: bool,
    pub browser: bool,
    pub host: bool,
    pub e2e: bool,
    /// A running PostgreSQL for the backend's tests on its second database.
    pub postgres: bool,
}

impl Needs {
    pub fn all() -> Self {
        Needs { wasm: true, browser: true, host: true, e2e: true, postgres: true }
    }
}

pub fn run(needs: Needs) -> Result<()> {
    let root = root();
    if needs.wasm {
        wasm_target()?;
        wasm_bindgen_cli()?;
        npm_ci(&root.join("scripts"))?;
    }
    if needs.browser {
        apt(&[("chromium", "chromium"), ("chromedriver", "chromium-driver")])?;
    }
    if needs.host || needs.e2e {
        apt(&[("npm", "npm")])?;
    }
    if needs.host {
        npm_ci(&root.join("crates/sandbox/host"))?;
    }
    if needs.e2e {
        npm_ci(&root.join("tests"))?;
    }
    if needs.postgres {
        postgres()?;
    }
    Ok(())
}

/// The URL of the local PostgreSQL the backend's tests use (user `postgres`, password `postgres`).
pub fn postgres_url() -> Option<String> {
    let cluster = clusters().into_iter().next()?;
    Some(format!("postgres://postgres:postgres@127.0.0.1:{}/postgres", cluster.port))
}

struct Cluster {
    version: String,
    name: String,
    port: String,
    online: bool,
}

/// Debian's PostgreSQL clusters (`pg_lsclusters`).
fn clusters() -> Vec<Cluster> {
    let out = sh::output("pg_lsclusters", &["--no-header"]).unwrap_or_default();
    out.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() >= 4).then(|| Cluster {
                version: f[0].to_string(),
                name: f[1].to_string(),
                port: f[2].to_string(),
                online: f[3] == "online",
            })
        })
        .collect()
}

/// Installs Debian's PostgreSQL if missing, starts its cluster and gives `postgres` a password.
fn postgres() -> Result<()> {
    apt(&[("pg_lsclusters", "postgresql")])?;
    let Some(cluster) = clusters().into_iter().next() else {
        bail!("postgresql is installed but has no cluster (pg_lsclusters lists none)");
    };
    let here = root();
    let root_user = sh::output("id", &["-u"]).as_deref() == Some("0");
    if !cluster.online {
        let args = ["pg_ctlcluster", cluster.version.as_str(), cluster.name.as_str(), "start"];
        if root_user {
            sh::run(&here, args[0], &args[1..], &[])?;
        } else {
            sh::run(&here, "sudo", &args, &[])?;
        }
    }
    let sql = "ALTER USER postgres PASSWORD 'postgres'";
    if root_user {
        sh::run(&here, "su", &["postgres", "-c", &format!("psql -q -c \"{sql}\"")], &[])
    } else {
        sh::run(&here, "sudo", &["-u", "postgres", "psql", "-q", "-c", sql], &[])
    }
}

fn wasm_target() -> Result<()> {
    let installed = sh::output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed.lines().any(|t| t.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    sh::run(&root(), "rustup", &["target", "add", "wasm32-unknown-unknown"], &[])
}

/// The exact wasm-bindgen version in Cargo.lock; the CLI must match it byte for byte.
pub fn pinned_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

/// The installed wasm-bindgen CLI version, if any.
pub fn installed_wasm_bindgen() -> Option<String> {
    let out = sh::output("wasm-bindgen", &["--version"])?;
    out.split_whitespace().nth(1).map(str::to_string)
}

fn wasm_bindgen_cli() -> Result<()> {
    let pinned = pinned_wasm_bindgen()?;
    if installed_wasm_bindgen().as_deref() == Some(pinned.as_str()) {
        return Ok(());
    }
    // `--locked` is deliberately absent: the index served here lacks some of the CLI's locked versions.
    sh::run(&root(), "cargo", &["install", "wasm-bindgen-cli", "--version", &pinned], &[])?;
    match installed_wasm_bindgen() {
        Some(v) if v == pinned => Ok(()),
        other => bail!("wasm-bindgen CLI is {other:?} after install, the crate is {pinned}: is ~/.cargo/bin on PATH?"),
    }
}

/// Installs Debian packages whose command is missing (`command`, `package`).
fn apt(wanted: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = wanted.iter().filter(|(cmd, _)| !sh::has(cmd)).map(|(_, pkg)| *pkg).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root_user = sh::output("id", &["-u"]).as_deref() == Some("0");
    let (program, prefix): (&str, Vec<&str>) = if root_user { ("apt-get", vec![]) } else { ("sudo", vec!["apt-get"]) };
    let here = crate::root();
    let mut update = prefix.clone();
    update.push("update");
    sh::run(&here, program, &update, &[])?;
    let mut install = prefix;
    install.extend(["install", "-y", "--no-install-recommends"]);
    install.extend(missing.iter().copied());
    sh::run(&here, program, &install, &[("DEBIAN_FRONTEND", "noninteractive")])
}

/// `npm ci` in `dir` unless its node_modules already match its package-lock.json.
fn npm_ci(dir: &Path) -> Result<()> {
    let lock = dir.join("package-lock.json");
    if !lock.exists() {
        bail!("{} has no package-lock.json", dir.display());
    }
    let marker = dir.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&marker)) {
        (Ok(l), Ok(m)) => m.modified()? >= l.modified()?,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    sh::run(dir, "npm", &["ci", "--no-audit", "--no-fund"], &[])
}

/// The wasm-opt that can read current wasm-bindgen output (npm binaryen 132), if installed.
pub fn wasm_opt() -> Option<std::path::PathBuf> {
    let path = root().join("scripts/node_modules/.bin/wasm-opt");
    path.exists().then_some(path)
}
