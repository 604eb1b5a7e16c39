//! `cargo xtask demo`: packs the widget, starts the sandbox (a local amoCRM) with demo data and the
//! widget installed, then starts the LeakGuard backend beside it, already connected to the sandbox
//! account with a long-lived token. Extra arguments go to the sandbox.

use crate::{install, pack, root, sh};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub fn run(args: &[String]) -> Result<()> {
    install::run(install::Needs { wasm: true, browser: false, host: true, e2e: false, postgres: false })?;
    let packed = pack::run()?;
    let root = root();
    sh::run(&root, "cargo", &["build", "--profile", "native", "-p", "leakguard-sandbox", "-p", "leakguard-server"], &[])?;

    let widget = format!("leakguard={}", packed.zip.display());
    let mut sandbox = Command::new(root.join("target/native/leakguard-sandbox"))
        .args(["--widget", widget.as_str()])
        .args(args)
        .current_dir(&root)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the sandbox")?;
    let mut lines = BufReader::new(sandbox.stdout.take().expect("piped stdout")).lines();
    let banner: Value = loop {
        let Some(line) = lines.next() else {
            let status = sandbox.wait()?;
            bail!("the sandbox stopped before it started ({status})");
        };
        if let Some(json) = line?.strip_prefix("SANDBOX ") {
            break serde_json::from_str(json).context("the sandbox's banner is not JSON")?;
        }
    };
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    let app = text(&banner["app"]);
    let integration = &banner["integrations"]["leakguard"];
    let envs = [
        ("LEAKGUARD_AMO_BASE_URL", app.clone()),
        ("LEAKGUARD_LLT_ACCOUNT_ID", text(&banner["account_id"])),
        ("LEAKGUARD_LLT_BASE_URL", app.clone()),
        ("LEAKGUARD_LLT_TOKEN", text(&banner["token"])),
        ("LEAKGUARD_CLIENT_ID", text(&integration["client_id"])),
        ("LEAKGUARD_CLIENT_SECRET", text(&integration["secret"])),
        ("LEAKGUARD_DATA_DIR", root.join("data/demo").display().to_string()),
        // The automations follow the sandbox's clock, so moving it (`POST /__sandbox/clock`) moves them.
        ("LEAKGUARD_CLOCK", format!("sandbox:{app}")),
    ];
    let server = Command::new(root.join("target/native/leakguard-server"))
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(&root)
        .spawn();
    let mut server = match server {
        Ok(child) => child,
        Err(err) => {
            let _ = sandbox.kill();
            return Err(err).context("starting the backend");
        }
    };
    // The sandbox's own lines: where to click.
    let forward = std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            println!("{line}");
        }
    });
    let outcome = wait_either(&mut sandbox, &mut server);
    let _ = forward.join();
    outcome
}

/// Waits until one of the two processes stops, then stops the other.
fn wait_either(sandbox: &mut Child, server: &mut Child) -> Result<()> {
    loop {
        let (stopped, status, other) = if let Some(status) = sandbox.try_wait()? {
            ("sandbox", status, &mut *server)
        } else if let Some(status) = server.try_wait()? {
            ("backend", status, &mut *sandbox)
        } else {
            std::thread::sleep(std::time::Duration::from_millis(200));
            continue;
        };
        let _ = other.kill();
        let _ = other.wait();
        if status.success() {
            return Ok(());
        }
        bail!("the {stopped} stopped: {status}");
    }
}
