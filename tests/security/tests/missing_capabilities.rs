//! A process without a `capabilities` field gets NO capabilities (runc's reading), never all of
//! them. Found against vsbx: a config without `process.capabilities` ran with every capability
//! (CapEff 000001fffeffffff; runc gives 0).
//!
//! The attack (`exploits/missing_capabilities.c`) is "Shocker" (Docker < 1.0): with
//! CAP_DAC_READ_SEARCH, open_by_handle_at(2) opens any inode of a filesystem the container has a
//! mount of. The program takes the handle type of the host filesystem from a host-backed bind
//! mount (/out), builds the handle of that filesystem's root inode (ext4: inode 2), opens it and
//! reads a marker file the test created on the host. It runs as the init of a container whose
//! config has no `process.capabilities`, and via `exec --process proc.json` without the field.
//! Both runtimes must deny it.

use std::fs;

use vsbx_security::*;

/// A host marker in a temp dir of its own (on the same filesystem as the bundle's /out).
struct Marker {
    _dir: TempDir,
    path: std::path::PathBuf,
    content: String,
}

impl Marker {
    fn new(name: &str) -> Marker {
        let dir = TempDir::new(&format!("shocker-marker-{name}"));
        let path = dir.path().join("host-marker");
        let content = format!("shocker host marker {}", unique_id(name));
        fs::write(&path, format!("{content}\n")).expect("write the host marker");
        Marker {
            _dir: dir,
            path,
            content,
        }
    }
}

fn attack_bundle(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.out_dir();
    fs::copy(exploit("missing_capabilities"), b.rootfs().join("attack")).expect("copy the attack");
    b
}

/// The attack ran (it got as far as the handle of the bind mount) and did not read the marker.
#[track_caller]
fn judge(what: &str, marker: &Marker, out: &str) {
    assert!(
        out.contains("CapEff="),
        "{what}: the attack program did not run:\n{out}"
    );
    assert!(
        !out.contains(&marker.content),
        "{what}: the container read the host marker {} through open_by_handle_at:\n{out}",
        marker.path.display()
    );
    assert!(
        !out.contains("open_by_handle_at ok"),
        "{what}: open_by_handle_at worked (CAP_DAC_READ_SEARCH):\n{out}"
    );
}

#[test]
fn config_without_capabilities_cannot_open_host_files_by_handle() {
    let marker = Marker::new("run");
    let rt = Runtime::new("shocker-run");
    let mut b = attack_bundle("shocker-run");
    b.args(&["/attack", "/out", &marker.path.display().to_string()]);
    b.config()["process"]
        .as_object_mut()
        .unwrap()
        .remove("capabilities");
    let id = unique_id("shocker-run");
    let out = rt.run(&id, &b, &[]);
    judge(
        "config without process.capabilities",
        &marker,
        &out.to_string(),
    );
    rt.delete_force(&id);
}

#[test]
fn exec_process_without_capabilities_cannot_open_host_files_by_handle() {
    let marker = Marker::new("exec");
    let rt = Runtime::new("shocker-exec");
    let mut b = attack_bundle("shocker-exec");
    let id = unique_id("shocker-exec");
    running(&rt, &id, &mut b, |_| {});
    let mut process = b.config()["process"].clone();
    let p = process.as_object_mut().unwrap();
    p.remove("capabilities");
    p.insert(
        "args".into(),
        serde_json::json!(["/attack", "/out", marker.path.display().to_string()]),
    );
    let proc_json = rt.scratch().join("proc.json");
    fs::write(&proc_json, serde_json::to_string(&process).unwrap()).unwrap();
    let out = exec_in(
        &rt,
        &id,
        &["--process", &proc_json.display().to_string()],
        &[],
    );
    judge(
        "exec --process without capabilities",
        &marker,
        &out.to_string(),
    );
    rt.delete_force(&id).assert_ok();
}
