//! Helpers shared by the integration tests: the example runners, a shell runner whose busybox
//! rootfs is made in a temporary directory, and bundle generation into a temporary directory.
#![allow(dead_code)] // each test binary uses a different subset

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use vsbx_bundle_gen::{generate, Bundle, BundleRequest, Rootfs, Runner, RunnerCatalog};

pub fn runners_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bundles/runners")
}

pub fn example_catalog() -> RunnerCatalog {
    RunnerCatalog::load_dir(runners_dir()).expect("the example runners load")
}

/// Makes a busybox rootfs with examples/bundles/mkrootfs.sh in `dir`; None if busybox is missing.
pub fn make_busybox_rootfs(dir: &Path) -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bundles/mkrootfs.sh");
    let rootfs = dir.join("busybox-rootfs");
    let status = Command::new("sh").arg(script).arg(&rootfs).status().ok()?;
    status.success().then_some(rootfs)
}

/// The example catalog with the shell runner's rootfs replaced by `rootfs`.
pub fn catalog_with_shell_rootfs(rootfs: &Path) -> RunnerCatalog {
    let mut catalog = RunnerCatalog::default();
    for runner in example_catalog().runners() {
        let mut runner: Runner = runner.clone();
        if runner.name == "shell" {
            runner.rootfs = Rootfs::Directory {
                path: rootfs.to_path_buf(),
                hint: None,
            };
        }
        catalog.add(runner).expect("unique runners");
    }
    catalog
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write test file");
    path
}

/// A temporary directory holding a program file and a place for the bundle.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        // Readable by a user-namespaced container root too.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn bundle_dir(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        write_file(self.dir.path(), name, content)
    }

    pub fn request(&self, name: &str, content: &str) -> BundleRequest {
        BundleRequest::new(self.bundle_dir(), vec![self.file(name, content)])
    }
}

pub fn generate_ok(request: &BundleRequest, catalog: &RunnerCatalog) -> Bundle {
    generate(request, catalog).unwrap_or_else(|e| panic!("generate failed: {e}"))
}

/// config.json as JSON.
pub fn config_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("config.json")).expect("config.json");
    serde_json::from_str(&text).expect("config.json is JSON")
}

/// The mount at `destination` in a config.json value.
pub fn mount_at<'a>(
    config: &'a serde_json::Value,
    destination: &str,
) -> Option<&'a serde_json::Value> {
    config["mounts"]
        .as_array()?
        .iter()
        .find(|m| m["destination"] == destination)
}
