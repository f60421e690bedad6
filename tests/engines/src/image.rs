//! The test image: a busybox rootfs tarball (examples/bundles/mkrootfs.sh), and an OCI image
//! archive around it for `ctr image import`.

use crate::command::run;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of the busybox rootfs tarball, built once per machine (atomically, so parallel test
/// binaries can race for it).
pub fn rootfs_tar() -> PathBuf {
    // One builder at a time within this process; rename makes it atomic across processes.
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let tar = PathBuf::from("/tmp/vsbx-engines-busybox-rootfs.tar");
    if tar.exists() {
        return tar;
    }
    let work = PathBuf::from(format!("/tmp/vsbx-engines-rootfs-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    let rootfs = work.join("rootfs");
    let script = workspace().join("examples/bundles/mkrootfs.sh");
    run(Command::new(&script).arg(&rootfs))
        .check()
        .unwrap_or_else(|e| panic!("building the busybox rootfs: {e}"));
    let tmp = work.join("rootfs.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["--numeric-owner", "-cf"])
        .arg(&tmp)
        .arg("."))
    .check()
    .unwrap_or_else(|e| panic!("tar of the rootfs: {e}"));
    fs::rename(&tmp, &tar).unwrap_or_else(|e| panic!("rename {}: {e}", tmp.display()));
    let _ = fs::remove_dir_all(&work);
    tar
}

fn sha256(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path))
        .check()
        .unwrap_or_else(|e| panic!("{e}"));
    out.stdout
        .split_whitespace()
        .next()
        .expect("sha256sum prints a digest")
        .to_string()
}

fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("no OCI architecture name for {other}"),
    }
}

/// Writes an OCI image layout tarball (oci-layout, index.json, blobs) holding the rootfs as
/// one uncompressed layer, named `name` (e.g. `localhost/vsbx-busybox:latest`), into `dir`.
pub fn oci_archive(dir: &Path, name: &str) -> PathBuf {
    let layout = dir.join("oci-layout-dir");
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).expect("mkdir blobs");
    let layer = rootfs_tar();
    let layer_digest = sha256(&layer);
    let layer_size = fs::metadata(&layer).expect("stat layer").len();
    fs::copy(&layer, blobs.join(&layer_digest)).expect("copy layer");
    let arch = oci_arch();

    let write_blob = |content: String| -> (String, usize) {
        let tmp = layout.join("blob.tmp");
        fs::write(&tmp, &content).expect("write blob");
        let digest = sha256(&tmp);
        fs::rename(&tmp, blobs.join(&digest)).expect("rename blob");
        (digest, content.len())
    };
    let (config_digest, config_size) = write_blob(format!(
        r#"{{"architecture":"{arch}","os":"linux","config":{{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{layer_digest}"]}}}}"#
    ));
    let (manifest_digest, manifest_size) = write_blob(format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{layer_digest}","size":{layer_size}}}]}}"#
    ));
    let tag = name.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
    fs::write(
        layout.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest_digest}","size":{manifest_size},"platform":{{"architecture":"{arch}","os":"linux"}},"annotations":{{"io.containerd.image.name":"{name}","org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#
        ),
    )
    .expect("write index.json");
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write oci-layout");
    let archive = dir.join("vsbx-busybox.oci.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&archive)
        .args(["oci-layout", "index.json", "blobs"]))
    .check()
    .unwrap_or_else(|e| panic!("tar of the OCI layout: {e}"));
    let _ = fs::remove_dir_all(&layout);
    archive
}
