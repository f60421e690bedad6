//! The OCI runtimes every scenario runs with: runc (the reference) and vsbx-runtime.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Debug)]
pub struct Runtime {
    /// "runc" or "vsbx": also the name engines know the runtime by in their configuration.
    pub name: &'static str,
    /// Absolute path of the binary.
    pub path: PathBuf,
}

impl Runtime {
    pub fn is_runc(&self) -> bool {
        self.name == "runc"
    }

    /// A container name (or id) for `what` unique to this runtime, `what-runc` or `what-vsbx`,
    /// so leftovers of one runtime's run never clash with the next.
    pub fn ctr_name(&self, what: &str) -> String {
        format!("{what}-{}", self.name)
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("runtime path is UTF-8")
    }
}

/// The runc every result is compared with: `which runc` (Debian's is /usr/sbin/runc).
pub fn runc() -> Runtime {
    Runtime {
        name: "runc",
        path: which("runc"),
    }
}

/// vsbx-runtime: `$VSBX_RUNTIME_BIN`, else `$CARGO_TARGET_DIR/debug/vsbx-runtime`, else the
/// workspace's target/debug/vsbx-runtime (what `cargo build -p vsbx-runtime` makes).
pub fn vsbx() -> Runtime {
    let path = match (
        std::env::var_os("VSBX_RUNTIME_BIN"),
        std::env::var_os("CARGO_TARGET_DIR"),
    ) {
        (Some(p), _) => PathBuf::from(p),
        (None, Some(t)) => Path::new(&t).join("debug/vsbx-runtime"),
        (None, None) => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/vsbx-runtime")
        }
    };
    let path = path
        .canonicalize()
        .unwrap_or_else(|e| panic!("vsbx-runtime not found at {} ({e}): run `cargo build -p vsbx-runtime` or set VSBX_RUNTIME_BIN", path.display()));
    Runtime { name: "vsbx", path }
}

/// The runtimes to run each scenario with, from `VSBX_ENGINE_RUNTIME`:
/// unset or `both`: runc then vsbx, and vsbx's results must equal runc's;
/// `runc`: runc only; `vsbx`: vsbx only; a path: that binary only, as "vsbx".
/// With one runtime, results are checked against the scenario's expected values only.
pub fn runtimes() -> Vec<Runtime> {
    match std::env::var("VSBX_ENGINE_RUNTIME").as_deref() {
        Err(_) | Ok("") | Ok("both") => vec![runc(), vsbx()],
        Ok("runc") => vec![runc()],
        Ok("vsbx") => vec![vsbx()],
        Ok(path) => {
            let p = Path::new(path);
            let path = p
                .canonicalize()
                .unwrap_or_else(|e| panic!("VSBX_ENGINE_RUNTIME={path}: {e}"));
            if path.file_name().is_some_and(|n| n == "runc") {
                vec![Runtime { name: "runc", path }]
            } else {
                vec![Runtime { name: "vsbx", path }]
            }
        }
    }
}

/// Absolute path of a program on PATH, or a test failure saying how to install it.
pub fn which(prog: &str) -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .output();
    match out {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        _ => panic!(
            "{prog} is not installed: run scripts/engines/install.sh (or `make engines-deps`)"
        ),
    }
}

/// Fails the test, with the install hint, when `path` does not exist.
pub fn require(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.exists(),
        "{path} is not installed: run scripts/engines/install.sh (or `make engines-deps`)"
    );
    p
}
