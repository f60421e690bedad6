//! Log lines in runc's formats, so engines show our errors to their users:
//! text `time="..." level=error msg="..."`, or JSON `{"level":..,"msg":..,"time":..}`.
//!
//! One logger per process: the binary [`install`]s the one its --log flags describe, and
//! every warning of the library goes through [`warn`]. A library caller that installs
//! none (the sandbox) gets text lines on stderr.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Logger {
    pub file: Option<PathBuf>,
    pub format: Format,
    pub debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Makes `logger` the process's logger; the first call wins.
pub fn install(logger: Logger) -> &'static Logger {
    let _ = LOGGER.set(logger);
    current()
}

/// The installed logger, or text lines on stderr.
pub fn current() -> &'static Logger {
    LOGGER.get_or_init(|| Logger {
        file: None,
        format: Format::Text,
        debug: false,
    })
}

/// A warning through the process's logger.
pub fn warn(msg: &str) {
    current().warn(msg)
}

/// A debug line through the process's logger (written only with --debug).
pub fn debug(msg: &str) {
    current().debug(msg)
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

impl Logger {
    pub fn line(&self, level: &str, msg: &str) -> String {
        let time = crate::proc::now_rfc3339_seconds();
        match self.format {
            Format::Json => {
                serde_json::json!({ "level": level, "msg": msg, "time": time }).to_string()
            }
            Format::Text => format!("time={} level={level} msg={}", quote(&time), quote(msg)),
        }
    }

    fn write(&self, level: &str, msg: &str) {
        let Some(path) = &self.file else { return };
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{}", self.line(level, msg));
        }
    }

    /// An error, as runc reports one: a log line to the log file plus the bare message
    /// on stderr, or without a log file the log line on stderr.
    pub fn error(&self, msg: &str) {
        if self.file.is_some() {
            self.write("error", msg);
            eprintln!("{msg}");
        } else {
            eprintln!("{}", self.line("error", msg));
        }
    }

    pub fn warn(&self, msg: &str) {
        self.write("warning", msg);
        if self.file.is_none() {
            eprintln!("{}", self.line("warning", msg));
        }
    }

    pub fn debug(&self, msg: &str) {
        if self.debug {
            self.write("debug", msg);
        }
    }
}
