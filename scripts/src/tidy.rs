//! Repository hygiene as tests: the manifest, the language files, the logos and the source files
//! follow the project's rules.

use crate::{pack, root};
use serde_json::Value;
use std::path::Path;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn manifest_is_valid_and_carries_the_workspace_version() {
    let manifest = json(&root().join("manifest.json"));
    pack::check_manifest(&manifest).unwrap();
    assert_eq!(manifest["widget"]["version"], pack::VERSION, "manifest.json version must equal the workspace version");
}

#[test]
fn every_i18n_key_is_present_in_every_language() {
    let manifest = json(&root().join("manifest.json"));
    let locales: Vec<String> =
        manifest["widget"]["locale"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    assert_eq!(locales, ["ru", "en", "es", "pt"]);
    let languages: Vec<(String, Value)> =
        locales.iter().map(|l| (l.clone(), json(&root().join(format!("i18n/{l}.json"))))).collect();
    pack::check_languages(&manifest, &languages).unwrap();
    let on_disk = std::fs::read_dir(root().join("i18n")).unwrap().count();
    assert_eq!(on_disk, locales.len(), "i18n/ holds a file for a language the manifest does not list");
}

#[test]
fn logos_have_the_sizes_amocrm_requires() {
    for (name, w, h) in pack::LOGOS {
        pack::check_png(&root().join("widget/images").join(name), w, h).unwrap();
    }
}

/// Every tracked Rust file, skipping build outputs and installed packages.
fn rust_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, acc: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if path.is_dir() {
                if !matches!(name.as_ref(), "target" | "dist" | "node_modules" | ".git" | "data") {
                    walk(&path, acc);
                }
            } else if name.ends_with(".rs") {
                acc.push(path);
            }
        }
    }
    let mut acc = Vec::new();
    walk(&root(), &mut acc);
    acc
}

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    let files = rust_files();
    assert!(files.len() > 5);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//! "), "{} must open with a `//!` line saying what it is for", file.display());
    }
}

#[test]
fn listeners_and_closures_are_never_leaked_with_forget() {
    // Built from parts so this file does not match itself.
    let needle = [".forg", "et()"].concat();
    for file in rust_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            assert!(!code.contains(&needle), "{}:{}: owned listeners only, never leaked with {needle}", file.display(), n + 1);
        }
    }
}
