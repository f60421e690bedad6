//! The audit log: one JSON line per event of a run (created, started, exited, killed,
//! timeout, oom, policy_violation, deleted), appended to a file the operator chooses.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};

/// Where events go; `None` writes nothing.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    pub path: Option<PathBuf>,
}

impl AuditLog {
    /// Appends one event. `extra` is merged into the line (profile, limits, result...).
    pub fn event(&self, event: &str, id: &str, extra: Value) -> Result<(), crate::Error> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut line = json!({
            "time": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            "event": event,
            "id": id,
        });
        if let (Some(obj), Some(more)) = (line.as_object_mut(), extra.as_object()) {
            for (k, v) in more {
                obj.insert(k.clone(), v.clone());
            }
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| crate::Error::Io(format!("audit log {}", path.display()), e))?;
        writeln!(f, "{line}")
            .map_err(|e| crate::Error::Io(format!("audit log {}", path.display()), e))
    }
}
