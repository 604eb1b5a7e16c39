//! `cargo xtask pack`: builds the wasm, runs wasm-bindgen and wasm-opt, stamps the manifest version,
//! checks every archive rule of the platform and writes `dist/widget.zip` with all files at its root.

use crate::{install, root, sh};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The six logos amoCRM asks for, with their exact pixel sizes (platform doc §1.2).
pub const LOGOS: [(&str, u32, u32); 6] = [
    ("logo_main.png", 400, 272),
    ("logo.png", 130, 100),
    ("logo_small.png", 108, 108),
    ("logo_medium.png", 240, 84),
    ("logo_min.png", 84, 84),
    ("logo_dp.png", 174, 109),
];

/// The widget version: the workspace version this crate inherits.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The files the browser downloads to run the widget (plus the main glue's `snippets/leakguard-widget-*`).
pub const RUNTIME_FILES: [&str; 3] = ["script.js", "leakguard.js", "leakguard_bg.wasm"];

/// The wasm modules of the archive: `(package, wasm-bindgen name)`. The first runs everywhere;
/// the others are imported on demand (the settings form in the settings modal, the key-metrics
/// page, then its XLSX export, the deal card's payments section) and are kept out of the runtime total.
pub const MODULES: [(&str, &str); 5] = [
    ("leakguard-widget", "leakguard"),
    ("leakguard-settings", "leakguard_settings"),
    ("leakguard-metrics", "leakguard_metrics"),
    ("leakguard-export", "leakguard_export"),
    ("leakguard-payments", "leakguard_payments"),
];

/// How wasm-opt shrinks a module: for size, except the metrics page, which decodes and computes
/// 100 000 deals and is built for speed (its package has `opt-level = 3` in the root manifest).
fn wasm_opt_level(name: &str) -> &'static str {
    if name == "leakguard_metrics" {
        "-O3"
    } else {
        "-Oz"
    }
}

pub struct Packed {
    pub zip: PathBuf,
}

pub fn run() -> Result<Packed> {
    install::run(install::Needs { wasm: true, browser: false, host: false, e2e: false, postgres: false })?;
    let root = root();
    let dist = root.join("dist");
    let build = dist.join("build");
    let out = dist.join("widget");
    for dir in [&build, &out] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("cleaning {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir)?;
    }

    let mut build_args = vec!["build", "--release", "--target", "wasm32-unknown-unknown"];
    for (package, _) in MODULES {
        build_args.extend(["-p", package]);
    }
    sh::run(&root, "cargo", &build_args, &[])?;
    let pinned = install::pinned_wasm_bindgen()?;
    let cli = install::installed_wasm_bindgen();
    ensure!(
        cli.as_deref() == Some(pinned.as_str()),
        "wasm-bindgen CLI {cli:?} does not match the crate {pinned}; run `cargo xtask install`"
    );
    for (_, name) in MODULES {
        let wasm = root.join(format!("target/wasm32-unknown-unknown/release/{name}.wasm"));
        sh::run(
            &root,
            "wasm-bindgen",
            &["--target", "web", "--no-typescript", "--out-dir", path_str(&build)?, path_str(&wasm)?],
            &[],
        )?;
        std::fs::copy(build.join(format!("{name}.js")), out.join(format!("{name}.js")))?;
        let bindgen_wasm = build.join(format!("{name}_bg.wasm"));
        let packed_wasm = out.join(format!("{name}_bg.wasm"));
        match install::wasm_opt() {
            Some(opt) => sh::run(
                &root,
                path_str(&opt)?,
                &[wasm_opt_level(name), path_str(&bindgen_wasm)?, "-o", path_str(&packed_wasm)?],
                &[],
            )?,
            None => {
                eprintln!("warning: wasm-opt (npm binaryen 132) is not installed; the wasm is not shrunk");
                std::fs::copy(&bindgen_wasm, &packed_wasm)?;
            }
        }
    }
    // Inline JavaScript of the modules (their dynamic `import()`), which their glue imports.
    if build.join("snippets").is_dir() {
        copy_tree(&build.join("snippets"), &out.join("snippets"))?;
    }

    let manifest = stamped_manifest(&root.join("manifest.json"))?;
    std::fs::write(out.join("manifest.json"), manifest)?;
    std::fs::copy(root.join("widget/loader/script.js"), out.join("script.js"))?;
    std::fs::copy(root.join("widget/style.css"), out.join("style.css"))?;
    copy_dir(&root.join("i18n"), &out.join("i18n"), "json")?;
    copy_dir(&root.join("widget/images"), &out.join("images"), "png")?;

    check_archive_dir(&out)?;
    let zip = dist.join("widget.zip");
    write_zip(&out, &zip)?;
    report_sizes(&out, &zip)?;
    Ok(Packed { zip })
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().context("non-UTF-8 path")
}

/// The repository manifest with `widget.version` set to the workspace version.
pub fn stamped_manifest(path: &Path) -> Result<String> {
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(path)?)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    manifest["widget"]["version"] = Value::String(VERSION.to_string());
    Ok(serde_json::to_string_pretty(&manifest)? + "\n")
}

/// Copies every file below `from` to the same place below `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for file in files_below(from)? {
        let target = to.join(&file);
        std::fs::create_dir_all(target.parent().context("a file has a parent")?)?;
        std::fs::copy(from.join(&file), target)?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path, ext: &str) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            std::fs::copy(&path, to.join(path.file_name().unwrap()))?;
        }
    }
    Ok(())
}

/// Every file below `dir`, as archive-relative paths with `/` separators, sorted.
pub fn files_below(dir: &Path) -> Result<Vec<String>> {
    fn walk(base: &Path, dir: &Path, acc: &mut Vec<String>) -> Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(base, &path, acc)?;
            } else {
                let rel = path.strip_prefix(base)?.to_str().context("non-UTF-8 file name")?;
                acc.push(rel.replace('\\', "/"));
            }
        }
        Ok(())
    }
    let mut acc = Vec::new();
    walk(dir, dir, &mut acc)?;
    acc.sort();
    Ok(acc)
}

/// Checks the unpacked archive against the platform's archive rules (platform doc §1, §2).
pub fn check_archive_dir(dir: &Path) -> Result<()> {
    let files = files_below(dir)?;
    for required in ["manifest.json", "script.js", "style.css"] {
        ensure!(files.iter().any(|f| f == required), "the archive root lacks {required}");
    }
    for (_, name) in MODULES {
        for required in [format!("{name}.js"), format!("{name}_bg.wasm")] {
            ensure!(files.contains(&required), "the archive root lacks {required}");
        }
    }
    for file in &files {
        if file.ends_with(".json") || file.ends_with(".js") || file.ends_with(".css") {
            let bytes = std::fs::read(dir.join(file))?;
            ensure!(!bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "{file} starts with a UTF-8 BOM");
            std::str::from_utf8(&bytes).with_context(|| format!("{file} is not UTF-8"))?;
        }
    }
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json"))?)?;
    check_manifest(&manifest)?;
    let locales: Vec<&str> = manifest["widget"]["locale"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let mut languages = Vec::new();
    for lang in &locales {
        let file = format!("i18n/{lang}.json");
        ensure!(files.contains(&file), "locale {lang} has no {file}");
        languages.push((lang.to_string(), serde_json::from_str(&std::fs::read_to_string(dir.join(&file))?)?));
    }
    check_languages(&manifest, &languages)?;
    for (name, w, h) in LOGOS {
        let file = format!("images/{name}");
        ensure!(files.contains(&file), "the archive lacks {file}");
        check_png(&dir.join(&file), w, h)?;
    }
    Ok(())
}

/// The manifest fields amoCRM requires (platform doc §2.1–§2.3).
pub fn check_manifest(m: &Value) -> Result<()> {
    let w = &m["widget"];
    for key in ["name", "description", "short_description"] {
        ensure!(w[key].is_string(), "manifest widget.{key} must be a string");
    }
    ensure!(w["interface_version"] == 2, "manifest widget.interface_version must be 2");
    ensure!(w["installation"].is_boolean(), "manifest widget.installation must be a boolean");
    ensure!(w["locale"].as_array().is_some_and(|l| !l.is_empty()), "manifest widget.locale must list languages");
    ensure!(w["version"].is_string(), "manifest widget.version must be a string");
    let locations: Vec<&str> = m["locations"].as_array().context("manifest locations")?.iter().filter_map(Value::as_str).collect();
    for needed in ["lcard-1", "settings", "advanced_settings", "everywhere"] {
        ensure!(locations.contains(&needed), "manifest locations lack {needed}");
    }
    if locations.contains(&"advanced_settings") {
        ensure!(m["advanced"]["title"].is_string(), "advanced_settings needs advanced.title");
    }
    if w["installation"] == true {
        ensure!(m["settings"].is_object(), "installation: true needs a settings block");
    }
    ensure!(w["support"]["email"].is_string() || w["support"]["link"].is_string(), "manifest needs a support contact");
    Ok(())
}

/// Flattened dotted keys of a language file.
pub fn keys(v: &Value) -> BTreeSet<String> {
    fn walk(prefix: &str, v: &Value, acc: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, child, acc);
                }
            }
            _ => {
                acc.insert(prefix.to_string());
            }
        }
    }
    let mut acc = BTreeSet::new();
    walk("", v, &mut acc);
    acc
}

/// Every language has the same keys, and every i18n key the manifest names exists.
pub fn check_languages(manifest: &Value, languages: &[(String, Value)]) -> Result<()> {
    let Some((first_lang, first)) = languages.first() else { bail!("no language files") };
    let reference = keys(first);
    for (lang, file) in languages {
        let these = keys(file);
        let missing: Vec<_> = reference.difference(&these).collect();
        let extra: Vec<_> = these.difference(&reference).collect();
        ensure!(missing.is_empty() && extra.is_empty(), "i18n/{lang}.json differs from {first_lang}: missing {missing:?}, extra {extra:?}");
        for key in &these {
            let value = key.split('.').fold(file, |v, k| &v[k]);
            ensure!(value.as_str().is_some_and(|s| !s.trim().is_empty()), "i18n/{lang}.json: {key} is empty or not text");
        }
    }
    let mut named = vec![
        manifest["widget"]["name"].as_str(),
        manifest["widget"]["description"].as_str(),
        manifest["widget"]["short_description"].as_str(),
        manifest["advanced"]["title"].as_str(),
    ];
    if let Some(settings) = manifest["settings"].as_object() {
        named.extend(settings.values().map(|s| s["name"].as_str()));
    }
    for key in named.into_iter().flatten() {
        ensure!(reference.contains(key), "manifest names i18n key {key}, which the language files lack");
    }
    Ok(())
}

/// A logo is a PNG of exactly `w`×`h` pixels and at most 300 KB (platform doc §1.2).
pub fn check_png(path: &Path, w: u32, h: u32) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(bytes.len() <= 300 * 1024, "{} is over 300 KB", path.display());
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let reader = decoder.read_info().with_context(|| format!("{} is not a PNG", path.display()))?;
    let info = reader.info();
    ensure!((info.width, info.height) == (w, h), "{} is {}x{}, amoCRM requires {w}x{h}", path.display(), info.width, info.height);
    Ok(())
}

fn write_zip(dir: &Path, zip_path: &Path) -> Result<()> {
    let file = std::fs::File::create(zip_path)?;
    let mut zip = zip::ZipWriter::new(file);
    // A fixed timestamp keeps the archive reproducible.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0).expect("valid date"));
    for name in files_below(dir)? {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(&std::fs::read(dir.join(&name))?)?;
    }
    zip.finish()?;
    Ok(())
}

/// gzip -9 size of a byte string.
pub fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len())
}

/// The files of one module's download: its glue, its wasm and its glue's snippets.
fn module_files(dir: &Path, name: &str, package: &str) -> Result<Vec<String>> {
    let mut files = vec![format!("{name}.js"), format!("{name}_bg.wasm")];
    let snippets = format!("snippets/{package}-");
    files.extend(files_below(dir)?.into_iter().filter(|f| f.starts_with(&snippets)));
    Ok(files)
}

fn report_sizes(dir: &Path, zip: &Path) -> Result<()> {
    let size = |files: &[String]| -> Result<(usize, usize)> {
        let (mut raw, mut gz) = (0, 0);
        for f in files {
            let bytes = std::fs::read(dir.join(f))?;
            let g = gzip_len(&bytes)?;
            println!("  {f:<48} {:>8} B raw {:>8} B gzip", bytes.len(), g);
            raw += bytes.len();
            gz += g;
        }
        Ok((raw, gz))
    };
    let (main_package, main_name) = MODULES[0];
    let mut runtime: Vec<String> = RUNTIME_FILES.iter().map(|f| f.to_string()).collect();
    runtime.extend(module_files(dir, main_name, main_package)?.into_iter().skip(2));
    let (raw, gz) = size(&runtime)?;
    println!("  {:<48} {raw:>8} B raw {gz:>8} B gzip (budget 80 KB gzip)", "runtime total");
    for (package, name) in &MODULES[1..] {
        let (raw, gz) = size(&module_files(dir, name, package)?)?;
        println!("  {:<48} {raw:>8} B raw {gz:>8} B gzip (loaded on demand)", format!("{name} total"));
    }
    println!("packed {} ({} B), version {VERSION}", zip.display(), std::fs::metadata(zip)?.len());
    Ok(())
}
