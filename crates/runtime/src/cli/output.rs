//! What `state`, `list`, `features` and `spec` print or write.

use std::io::Write;

use vsbx_runtime::state::Root;
use vsbx_runtime::{specgen, Error, Result};

use super::ListFormat;

pub fn print_json_pretty<T: serde::Serialize>(v: &T) -> Result<()> {
    let text =
        serde_json::to_string_pretty(v).map_err(|e| Error::other(format!("encoding JSON: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| Error::os("writing to stdout", e))
}

pub fn owner_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_owned())
            })
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

pub fn list(root: &Root, format: ListFormat, quiet: bool) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let entries = root.list()?;
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| Error::os("writing to stdout", e);
    if quiet {
        for (_, rec) in &entries {
            writeln!(out, "{}", rec.id).map_err(w)?;
        }
        return Ok(());
    }
    let rows: Vec<(serde_json::Value, [String; 6])> = entries
        .iter()
        .map(|(dir, rec)| {
            let status = rec.status(dir);
            let owner = std::fs::metadata(dir)
                .map(|m| owner_name(m.uid()))
                .unwrap_or_default();
            let mut v = serde_json::to_value(rec.public(status)).unwrap_or_default();
            v["owner"] = serde_json::Value::String(owner.clone());
            let pid = v["pid"].to_string();
            let cols = [
                rec.id.clone(),
                pid,
                status.as_str().to_owned(),
                rec.bundle.display().to_string(),
                rec.created.clone(),
                owner,
            ];
            (v, cols)
        })
        .collect();
    match format {
        ListFormat::Json => {
            let list: Vec<&serde_json::Value> = rows.iter().map(|(v, _)| v).collect();
            // runc prints `null` for no containers.
            let text = if list.is_empty() {
                "null".to_owned()
            } else {
                serde_json::to_string(&list).unwrap_or_default()
            };
            writeln!(out, "{text}").map_err(w)?;
        }
        ListFormat::Table => {
            let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(str::to_owned);
            let all: Vec<&[String; 6]> = std::iter::once(&header)
                .chain(rows.iter().map(|(_, c)| c))
                .collect();
            // Like Go's tabwriter(minwidth 12, padding 3): each column as wide as its
            // widest cell plus 3, at least 12; the last column unpadded.
            let widths: Vec<usize> = (0..6)
                .map(|i| {
                    all.iter()
                        .map(|r| r[i].len() + 3)
                        .max()
                        .unwrap_or(0)
                        .max(12)
                })
                .collect();
            for r in all {
                let mut line = String::new();
                for i in 0..5 {
                    line.push_str(&format!("{:<w$}", r[i], w = widths[i]));
                }
                line.push_str(&r[5]);
                writeln!(out, "{line}").map_err(w)?;
            }
        }
    }
    Ok(())
}

pub fn write_spec(bundle: &std::path::Path, rootless: bool) -> Result<()> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(Error::other("File config.json exists. Remove it first"));
    }
    let (uid, gid) = (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    );
    let text = serde_json::to_string_pretty(&specgen::default_spec(rootless, uid, gid))
        .map_err(|e| Error::other(format!("encoding the spec: {e}")))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::path("cannot write", &path, e))
}
