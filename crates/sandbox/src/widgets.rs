//! Uploaded widget archives (read into memory from `.zip`) and their install state in the account.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bytes::Bytes;
use serde_json::{json, Map, Value};

/// A widget archive as amoCRM stores it after upload.
#[derive(Debug, Clone)]
pub struct WidgetArchive {
    /// The widget code.
    pub code: String,
    /// `widget.version` from the manifest; part of every CDN URL.
    pub version: String,
    /// The parsed `manifest.json`.
    pub manifest: Value,
    /// Every file of the archive by its path inside the zip.
    pub files: HashMap<String, Bytes>,
    /// Where the archive was read from.
    pub source: PathBuf,
    /// The file's modification time when it was read (to pick up rebuilds).
    pub modified: Option<std::time::SystemTime>,
}

impl WidgetArchive {
    /// Whether the file on disk changed since it was read.
    pub fn is_stale(&self) -> bool {
        let now = std::fs::metadata(&self.source)
            .and_then(|m| m.modified())
            .ok();
        now.is_some() && now != self.modified
    }
}

/// Reads `path` into memory, checking the rules of amocrm-widget-platform.md §1.1 that an upload enforces.
pub fn load_archive(code: &str, path: &Path) -> anyhow::Result<WidgetArchive> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading widget archive {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .with_context(|| format!("{} is not a zip", path.display()))?;
    let mut files = HashMap::new();
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name()?.trim_start_matches("./").to_owned();
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut data)?;
        files.insert(name, Bytes::from(data));
    }
    let Some(manifest) = files.get("manifest.json") else {
        bail!(
            "{}: manifest.json must be at the archive root",
            path.display()
        );
    };
    let manifest: Value =
        serde_json::from_slice(manifest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(manifest))
            .with_context(|| format!("{}: manifest.json is not valid JSON", path.display()))?;
    let Some(version) = manifest.pointer("/widget/version").and_then(Value::as_str) else {
        bail!("{}: manifest.json has no widget.version", path.display());
    };
    if !manifest.get("locations").is_some_and(Value::is_array) {
        bail!("{}: manifest.json has no locations array", path.display());
    }
    Ok(WidgetArchive {
        code: code.to_owned(),
        version: version.to_owned(),
        manifest,
        files,
        source: path.to_owned(),
        modified,
    })
}

/// A widget installed in the account: its archive plus settings saved through the settings modal.
#[derive(Debug, Clone)]
pub struct Widget {
    /// The uploaded archive.
    pub archive: WidgetArchive,
    /// The widget's numeric id in the account.
    pub id: u64,
    /// The integration's `client_uuid`.
    pub client_uuid: String,
    /// The integration's secret key (signs `X-Auth-Token`).
    pub secret: String,
    /// Whether the widget is switched on (`active: "Y"`).
    pub active: bool,
    /// Saved settings field values.
    pub settings: Map<String, Value>,
    /// The integration's Redirect URI (install hook target, OAuth `redirect_uri`).
    pub redirect_uri: Option<String>,
    /// The integration's revoke hook URL.
    pub revoke_uri: Option<String>,
}

impl Widget {
    /// `installed` when active with every required field filled, `not_configured` when a required field is empty,
    /// `install` when switched off.
    pub fn status(&self) -> &'static str {
        if !self.active {
            return "install";
        }
        let required_missing = self
            .archive
            .manifest
            .get("settings")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, field)| {
                field
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            })
            .any(|(key, _)| {
                self.settings
                    .get(key)
                    .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
            });
        if required_missing {
            "not_configured"
        } else {
            "installed"
        }
    }

    /// The `aud` of the widget's one-time tokens: the base (scheme, host, port) of the integration's Redirect URI,
    /// or `fallback` when it has none (amocrm-widget-platform.md §4.2).
    pub fn audience(&self, fallback: &str) -> String {
        self.redirect_uri
            .as_deref()
            .and_then(|uri| reqwest::Url::parse(uri).ok())
            .map(|url| url.origin().ascii_serialization())
            .filter(|origin| origin != "null")
            .unwrap_or_else(|| fallback.to_owned())
    }

    /// The manifest's settings fields as `/api/v4/widgets` describes them (`settings_template`).
    pub fn settings_template(&self) -> Vec<Value> {
        let locales: Vec<&str> = self
            .archive
            .manifest
            .pointer("/widget/locale")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let lang = ["ru", "en"]
            .into_iter()
            .find(|l| locales.contains(l))
            .or(locales.first().copied())
            .unwrap_or("ru");
        let i18n = self
            .archive
            .files
            .get(&format!("i18n/{lang}.json"))
            .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok());
        self.archive
            .manifest
            .get("settings")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(key, field)| {
                let name = field.get("name").and_then(Value::as_str).unwrap_or(key);
                let shown = i18n
                    .as_ref()
                    .and_then(|lang| lang.pointer(&format!("/{}", name.replace('.', "/"))))
                    .and_then(Value::as_str)
                    .unwrap_or(name);
                json!({
                    "key": key,
                    "name": shown,
                    "type": field.get("type").cloned().unwrap_or(json!("text")),
                    "is_required": field.get("required").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect()
    }

    /// Whether the manifest declares `location`.
    pub fn has_location(&self, location: &str) -> bool {
        self.archive
            .manifest
            .get("locations")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|v| v.as_str() == Some(location)))
    }

    /// The base URL of the widget's files on the CDN origin, without a trailing slash.
    pub fn base_url(&self, cdn: &str) -> String {
        format!(
            "{cdn}/widgets/{}/{}",
            self.archive.code, self.archive.version
        )
    }

    /// The widget entry of `/ajax/sandbox/bootstrap` (what `self.params` / `get_settings()` are built from).
    pub fn entry(&self, cdn: &str) -> Value {
        let base = self.base_url(cdn);
        json!({
            "code": self.archive.code,
            "widget_code": self.archive.code,
            "version": self.archive.version,
            "path": base,
            "cdn_path": base,
            "images_path": format!("{base}/images"),
            "cdn_images_path": format!("{base}/images"),
            "locations": self.archive.manifest.get("locations").cloned().unwrap_or(json!([])),
            "settings": self.settings,
            "active": if self.active { "Y" } else { "N" },
            "status": self.status(),
            "id": self.id,
            "oauth_client_uuid": self.client_uuid,
            "manifest": self.archive.manifest,
        })
    }
}
