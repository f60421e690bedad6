//! Images built in the test itself (tar + gzip/zstd, an OCI layout written by hand): layers
//! are verified and unpacked with whiteouts and opaque directories, and entries that would
//! leave the tree are refused with a clear error, leaving nothing in the cache.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};
use vsbx_bundle_gen::{unpack_image, ImageFormat};

/// One entry of a test layer.
enum E<'a> {
    Dir(&'a str),
    File(&'a str, &'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// A tar with `entries`; names are written raw, so `..` and absolute paths get through.
fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_ustar();
        let (name, kind, data, link): (&str, tar::EntryType, &[u8], Option<&str>) = match e {
            E::Dir(n) => (n, tar::EntryType::Directory, b"", None),
            E::File(n, d) => (n, tar::EntryType::Regular, d.as_bytes(), None),
            E::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", Some(t)),
            E::HardLink(n, t) => (n, tar::EntryType::Link, b"", Some(t)),
        };
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        h.set_mode(if matches!(e, E::Dir(_)) { 0o755 } else { 0o644 });
        h.set_size(data.len() as u64);
        if let Some(t) = link {
            let raw = &mut h.as_old_mut().linkname;
            raw[..t.len()].copy_from_slice(t.as_bytes());
        }
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

/// Writes a blob into the layout; returns its digest.
fn blob(layout: &Path, data: &[u8]) -> String {
    let digest = sha(data);
    let dir = layout.join("blobs/sha256");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(digest.trim_start_matches("sha256:")), data).unwrap();
    digest
}

/// An OCI layout with `layers` (tar bytes, compressed bytes, media type) in `dir`.
fn oci_layout(dir: &Path, layers: &[(Vec<u8>, Vec<u8>, &str)], marker: &str) -> PathBuf {
    let layout = dir.join("layout");
    fs::create_dir_all(&layout).unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin", format!("MARK={marker}")], "Cmd": ["/bin/tool"], "WorkingDir": "/srv"},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| sha(&l.0)).collect::<Vec<_>>()},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = blob(&layout, &config);
    let layer_descs: Vec<_> = layers
        .iter()
        .map(|(_, stored, media)| {
            json!({"mediaType": media, "digest": blob(&layout, stored), "size": stored.len()})
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layer_descs,
    }))
    .unwrap();
    let manifest_digest = blob(&layout, &manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "test:1"}}],
    });
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    layout
}

fn gz_layer(entries: &[E]) -> (Vec<u8>, Vec<u8>, &'static str) {
    let t = tar_of(entries);
    let c = gzip(&t);
    (t, c, "application/vnd.oci.image.layer.v1.tar+gzip")
}

fn zstd_layer(entries: &[E]) -> (Vec<u8>, Vec<u8>, &'static str) {
    let t = tar_of(entries);
    let c = zstd(&t);
    (t, c, "application/vnd.oci.image.layer.v1.tar+zstd")
}

/// Names in `cache` (the trees and any temp dirs).
fn cache_entries(cache: &Path) -> Vec<String> {
    fs::read_dir(cache)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn layers_apply_in_order_with_whiteouts_opaque_dirs_and_links() {
    let tmp = tempfile::tempdir().unwrap();
    let lower = gz_layer(&[
        E::Dir("bin"),
        E::File("bin/tool", "tool v1"),
        E::Dir("a"),
        E::File("a/keep", "kept"),
        E::File("a/gone", "whited out"),
        E::Dir("d"),
        E::File("d/x", "x"),
        E::Dir("d/sub"),
        E::File("d/sub/y", "y"),
        E::Symlink("etc-link", "/etc/passwd"),
        E::HardLink("a/keep-again", "a/keep"),
    ]);
    let upper = zstd_layer(&[
        E::File("a/.wh.gone", ""),
        E::Dir("d"),
        E::File("d/.wh..wh..opq", ""),
        E::File("d/new", "new"),
        E::File("bin/tool", "tool v2"),
    ]);
    let plain = {
        let t = tar_of(&[E::File("plain", "uncompressed layer")]);
        (t.clone(), t, "application/vnd.oci.image.layer.v1.tar")
    };
    let layout = oci_layout(tmp.path(), &[lower, upper, plain], "m1");
    let cache = tmp.path().join("cache");
    let image = unpack_image(&layout, None, &cache).unwrap();
    assert_eq!(image.format, ImageFormat::OciDir);
    assert!(image.unpacked_now);
    let t = &image.tree;
    let read = |p: &str| fs::read_to_string(t.join(p)).unwrap();
    assert_eq!(read("a/keep"), "kept");
    assert!(!t.join("a/gone").exists(), "whiteout removed a/gone");
    assert!(
        !t.join("d/x").exists() && !t.join("d/sub").exists(),
        "opaque d/"
    );
    assert_eq!(read("d/new"), "new", "the opaque layer's own entry stays");
    assert_eq!(read("bin/tool"), "tool v2", "upper layer replaces the file");
    assert_eq!(read("plain"), "uncompressed layer");
    assert_eq!(
        fs::read_link(t.join("etc-link")).unwrap(),
        Path::new("/etc/passwd"),
        "symlink stored as it is"
    );
    assert_eq!(
        fs::metadata(t.join("a/keep")).unwrap().ino(),
        fs::metadata(t.join("a/keep-again")).unwrap().ino(),
        "hard link inside the tree"
    );
    assert!(!t.join(".wh.gone").exists() && !t.join("a/.wh.gone").exists());
    assert_eq!(image.config.cmd, ["/bin/tool"]);
    assert_eq!(image.config.working_dir.as_deref(), Some("/srv"));
    assert!(image.config.env.contains(&"MARK=m1".to_string()));
    // A second unpack of the same image is a cache hit.
    fs::write(t.join("probe"), "left by the first unpack").unwrap();
    let again = unpack_image(&layout, Some("test:1"), &cache).unwrap();
    assert!(!again.unpacked_now);
    assert_eq!(again.tree, image.tree);
    assert!(again.tree.join("probe").exists());
    assert_eq!(
        cache_entries(&cache).len(),
        1,
        "{:?}",
        cache_entries(&cache)
    );
}

/// Each bad layer is refused with the reason, and the cache keeps no tree or temp dir.
#[test]
fn escaping_entries_are_refused_and_leave_nothing() {
    let cases: Vec<(&str, Vec<E>, &str)> = vec![
        ("dotdot", vec![E::File("../x", "escape")], "`..` component"),
        (
            "nested-dotdot",
            vec![E::Dir("a"), E::File("a/../../x", "escape")],
            "`..` component",
        ),
        ("absolute", vec![E::File("/x", "escape")], "absolute path"),
        (
            "via-symlink",
            vec![E::Symlink("sl", "/tmp"), E::File("sl/evil", "escape")],
            "through the symlink `sl`",
        ),
        (
            "via-relative-symlink",
            vec![
                E::Dir("d"),
                E::Symlink("d/up", "../.."),
                E::File("d/up/evil", "escape"),
            ],
            "through the symlink `d/up`",
        ),
        (
            "hardlink-out",
            vec![E::HardLink("h", "../../etc/passwd")],
            "`..` component",
        ),
        (
            "hardlink-via-symlink",
            vec![E::Symlink("sl", "/etc"), E::HardLink("h", "sl/passwd")],
            "through the symlink `sl`",
        ),
    ];
    for (name, entries, reason) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let layout = oci_layout(tmp.path(), &[gz_layer(&entries)], name);
        let cache = tmp.path().join("cache");
        let e = unpack_image(&layout, None, &cache)
            .map(|_| ())
            .expect_err(name)
            .to_string();
        assert!(e.contains(reason), "{name}: {e}");
        assert!(e.contains("layer 1 of 1"), "{name}: {e}");
        assert!(!e.contains('\n'), "{name}: one line: {e}");
        assert!(
            cache_entries(&cache).is_empty(),
            "{name}: left {:?}",
            cache_entries(&cache)
        );
        assert!(!tmp.path().join("x").exists() && !Path::new("/tmp/evil").exists());
    }
}

#[test]
fn a_layer_that_does_not_match_its_digest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = gz_layer(&[E::File("f", "original")]);
    let layout = oci_layout(tmp.path(), std::slice::from_ref(&layer), "d");
    // Replace the blob's content by another valid layer: same name, other bytes.
    let blob = layout
        .join("blobs/sha256")
        .join(sha(&layer.1).trim_start_matches("sha256:"));
    fs::write(&blob, gzip(&tar_of(&[E::File("f", "tampered")]))).unwrap();
    let cache = tmp.path().join("cache");
    let e = unpack_image(&layout, None, &cache)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("digest"), "{e}");
    assert!(
        cache_entries(&cache).is_empty(),
        "{:?}",
        cache_entries(&cache)
    );
}

#[test]
fn bad_sources_get_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let empty_dir = tmp.path().join("empty");
    fs::create_dir(&empty_dir).unwrap();
    let other_tar = tmp.path().join("other.tar");
    fs::write(&other_tar, tar_of(&[E::File("hello", "hi")])).unwrap();
    for (source, mentions) in [
        (tmp.path().join("missing"), "No such file"),
        (empty_dir, "not an OCI image layout"),
        (other_tar, "neither an OCI image"),
    ] {
        let e = unpack_image(&source, None, &tmp.path().join("cache"))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains(mentions), "{}: {e}", source.display());
        assert!(e.starts_with("image "), "{e}");
    }
    let layout = oci_layout(tmp.path(), &[gz_layer(&[E::File("f", "x")])], "t");
    let e = unpack_image(&layout, Some("nope"), &tmp.path().join("cache"))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no image tagged `nope` (tags: test:1)"), "{e}");
}
