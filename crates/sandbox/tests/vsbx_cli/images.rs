//! Runners from images: a tree with its own python3 and node (scripts that print a marker the
//! host's interpreters cannot know), `podman import`ed and `podman save`d in each format (no
//! registry, no network), added with `vsbx runner add`, run in every profile, listed, removed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{ensure_shell_rootfs, vsbx_run, vsbx_with, workspace, Opts, Run};

const PROFILES: &[&str] = &["minimal", "io", "compute", "network", "unrestricted"];

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The saved images (oci-archive, docker-archive, oci-dir) of one tree holding `marker`.
struct Images {
    dir: tempfile::TempDir,
    marker: String,
}

impl Images {
    fn build() -> Images {
        ensure_shell_rootfs();
        let dir = tempfile::Builder::new()
            .prefix("vsbx-images-")
            .tempdir()
            .unwrap();
        let marker = format!(
            "m{}x{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let tree = dir.path().join("tree");
        sh(Command::new("cp")
            .arg("-a")
            .arg(workspace().join("examples/bundles/runners/shell/rootfs"))
            .arg(&tree));
        fs::create_dir_all(tree.join("usr/bin")).unwrap();
        fs::create_dir_all(tree.join("etc")).unwrap();
        fs::write(tree.join("etc/image-marker"), &marker).unwrap();
        for (name, what) in [("python3", "python"), ("node", "node")] {
            let path = tree.join("usr/bin").join(name);
            fs::write(
                &path,
                // One builtin: the minimal profile has no fork, pipe or dup.
                format!("#!/bin/sh\necho \"{what} from the image {marker} $1\"\n"),
            )
            .unwrap();
            sh(Command::new("chmod").arg("755").arg(&path));
        }
        let tar = dir.path().join("tree.tar");
        sh(Command::new("tar")
            .arg("-C")
            .arg(&tree)
            .arg("-cf")
            .arg(&tar)
            .arg("."));
        let tag = format!("localhost/vsbx-test-{marker}:1");
        sh(Command::new("podman")
            .args(["import", "--change", "ENV PATH=/usr/bin:/bin"])
            .args(["--change", "CMD [\"/usr/bin/node\"]"])
            .arg(&tar)
            .arg(&tag));
        for (format, out) in [
            ("oci-archive", "oci.tar"),
            ("docker-archive", "docker.tar"),
            ("oci-dir", "ocidir"),
        ] {
            sh(Command::new("podman")
                .args(["save", "--format", format, "-o"])
                .arg(dir.path().join(out))
                .arg(&tag));
        }
        let _ = Command::new("podman").args(["rmi", &tag]).output();
        Images { dir, marker }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
}

fn vsbx(args: &[&str]) -> Run {
    vsbx_with(args, &[], Opts::default())
}

fn script(dir: &Path, name: &str) -> String {
    let p: PathBuf = dir.join(name);
    fs::write(&p, "print('hello from the host interpreter')\n").unwrap();
    p.to_string_lossy().into_owned()
}

fn cache_trees(catalog: &Path) -> Vec<String> {
    fs::read_dir(catalog.join(".images"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn image_runners_from_each_format_use_the_image_interpreter() {
    let images = Images::build();
    let catalog = tempfile::tempdir().unwrap();
    let cat = catalog.path().to_string_lossy().into_owned();
    let add = |name: &str, image: &str, ext: &str, command: Option<&str>| {
        let mut args = vec![
            "runner",
            "add",
            name,
            "--runners",
            &cat,
            "--image",
            image,
            "--ext",
            ext,
        ];
        if let Some(c) = command {
            args.extend(["--command", c]);
        }
        vsbx(&args)
    };
    let first = add(
        "py",
        &images.path("oci.tar"),
        "py",
        Some("/usr/bin/python3 {file}"),
    );
    assert_eq!(first.code, Some(0), "{}", first.context());
    assert!(
        first.stdout_str().contains("oci-archive") && first.stdout_str().contains("unpacked into"),
        "{}",
        first.context()
    );
    // The same image from the other two formats: same digest, nothing unpacked again.
    for (name, file, ext) in [
        ("py-docker", "docker.tar", "pyd"),
        ("py-dir", "ocidir", "pyo"),
    ] {
        let r = add(
            name,
            &images.path(file),
            ext,
            Some("/usr/bin/python3 {file}"),
        );
        assert_eq!(r.code, Some(0), "{}", r.context());
        assert!(
            r.stdout_str().contains("already unpacked"),
            "{}",
            r.context()
        );
    }
    // node takes the image's Cmd as its command.
    let node = add("node-img", &images.path("docker.tar"), "js", None);
    assert_eq!(node.code, Some(0), "{}", node.context());
    assert!(
        node.stdout_str().ends_with("/usr/bin/node {file}\n"),
        "{}",
        node.context()
    );
    assert_eq!(cache_trees(catalog.path()).len(), 1, "one tree per digest");

    let files = tempfile::tempdir().unwrap();
    for (file, runner, what) in [
        ("a.py", "py", "python"),
        ("b.pyd", "py-docker", "python"),
        ("c.pyo", "py-dir", "python"),
        ("d.js", "node-img", "node"),
    ] {
        let path = script(files.path(), file);
        for profile in PROFILES {
            let run = vsbx_run(&["--runners", &cat, "--policy", profile, &path]);
            assert_eq!(run.status(), "ok", "{runner} {profile}\n{}", run.context());
            assert_eq!(
                run.stdout_str(),
                format!("{what} from the image {} /work/{file}\n", images.marker),
                "{runner} {profile}\n{}",
                run.context()
            );
        }
    }

    let list = vsbx(&["runner", "list", "--runners", &cat]);
    assert_eq!(list.code, Some(0), "{}", list.context());
    let out = list.stdout_str();
    let py_line = out
        .lines()
        .find(|l| l.starts_with("py "))
        .unwrap_or_else(|| panic!("no py in\n{out}"));
    assert!(
        py_line.contains(" image ") && py_line.contains("sha256:"),
        "{out}"
    );

    // rm keeps the tree while another runner uses it, and removes it with the last one.
    for name in ["py", "py-docker", "py-dir"] {
        let r = vsbx(&["runner", "rm", name, "--runners", &cat]);
        assert_eq!(r.code, Some(0), "{}", r.context());
        assert_eq!(cache_trees(catalog.path()).len(), 1, "{}", r.context());
    }
    let last = vsbx(&["runner", "rm", "node-img", "--runners", &cat]);
    assert_eq!(last.code, Some(0), "{}", last.context());
    assert!(cache_trees(catalog.path()).is_empty(), "{}", last.context());
    let listed = vsbx(&["runner", "list", "--runners", &cat]).stdout_str();
    assert_eq!(listed.lines().count(), 1, "only the header: {listed}");
}

#[test]
fn runner_add_and_rm_refuse_bad_input_with_one_line() {
    let catalog = tempfile::tempdir().unwrap();
    let cat = catalog.path().to_string_lossy().into_owned();
    let junk = catalog.path().join("junk.tar");
    fs::write(&junk, b"not a tar").unwrap();
    let junk = junk.to_string_lossy().into_owned();
    for (args, mentions) in [
        (
            vec![
                "runner",
                "add",
                "x",
                "--runners",
                &cat,
                "--image",
                "/nonexistent",
                "--ext",
                "x",
            ],
            "/nonexistent",
        ),
        (
            vec![
                "runner",
                "add",
                "x",
                "--runners",
                &cat,
                "--image",
                &junk,
                "--ext",
                "x",
            ],
            "junk.tar",
        ),
        (
            vec![
                "runner",
                "add",
                "a/b",
                "--runners",
                &cat,
                "--image",
                &junk,
                "--ext",
                "x",
            ],
            "not a plain name",
        ),
        (vec!["runner", "rm", "nope", "--runners", &cat], "nope"),
    ] {
        let r = vsbx(&args);
        assert_eq!(r.code, Some(2), "{args:?}\n{}", r.context());
        assert!(
            r.stderr.starts_with("vsbx: error: ") && r.stderr.contains(mentions),
            "{args:?}\n{}",
            r.context()
        );
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.context());
        let left: Vec<_> = fs::read_dir(catalog.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n != "junk.tar" && n != ".images")
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(cache_trees(catalog.path()).is_empty());
    }
}

/// A real CPython (Debian's, copied with its libraries and stdlib into a tree) from an image:
/// the run imports a module that only the image's stdlib has, so the host's python3 (or its
/// stdlib through a bind) cannot pass.
#[test]
fn python_image_runs_the_image_interpreter_and_stdlib() {
    let version = fs::read_link("/usr/bin/python3")
        .expect("Debian's python3 (apt-get install python3)")
        .to_string_lossy()
        .into_owned(); // python3.11
    let dir = tempfile::Builder::new()
        .prefix("vsbx-pyimage-")
        .tempdir()
        .unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    let libs = sh(Command::new("ldd").arg(format!("/usr/bin/{version}")));
    let mut members: Vec<String> = vec![format!("usr/bin/{version}"), format!("usr/lib/{version}")];
    members.extend(
        libs.split_whitespace()
            .filter(|w| w.starts_with('/'))
            .map(|w| w.trim_start_matches('/').to_string()),
    );
    // -h: the libraries are symlinks on the host; the image gets the files.
    let copy = format!(
        "tar -C / -chf - --exclude='usr/lib/{version}/config-*' --exclude='usr/lib/{version}/test' \
         --exclude='usr/lib/{version}/dist-packages' {} | tar -C '{}' -xf -",
        members.join(" "),
        tree.display()
    );
    sh(Command::new("sh").arg("-c").arg(&copy));
    std::os::unix::fs::symlink(&version, tree.join("usr/bin/python3")).unwrap();
    let marker = format!("py{}", std::process::id());
    fs::write(
        tree.join(format!("usr/lib/{version}/vsbx_image_marker.py")),
        format!("MARK = {marker:?}\n"),
    )
    .unwrap();
    let tar = dir.path().join("tree.tar");
    sh(Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    let tag = format!("localhost/vsbx-test-{marker}:1");
    sh(Command::new("podman")
        .args(["import", "--change", "CMD [\"/usr/bin/python3\"]"])
        .arg(&tar)
        .arg(&tag));
    let saved = dir.path().join("py.tar");
    sh(Command::new("podman")
        .args(["save", "--format", "oci-archive", "-o"])
        .arg(&saved)
        .arg(&tag));
    let _ = Command::new("podman").args(["rmi", &tag]).output();

    let catalog = tempfile::tempdir().unwrap();
    let cat = catalog.path().to_string_lossy().into_owned();
    let add = vsbx(&[
        "runner",
        "add",
        "pyimg",
        "--runners",
        &cat,
        "--image",
        &saved.to_string_lossy(),
        "--ext",
        "py",
    ]);
    assert_eq!(add.code, Some(0), "{}", add.context());
    let script = dir.path().join("which.py");
    fs::write(
        &script,
        "import sys, vsbx_image_marker\nprint(vsbx_image_marker.MARK, sys.executable, sys.prefix)\n",
    )
    .unwrap();
    for profile in ["compute", "io", "network", "unrestricted"] {
        let run = vsbx_run(&[
            "--runners",
            &cat,
            "--policy",
            profile,
            &script.to_string_lossy(),
        ]);
        assert_eq!(run.status(), "ok", "{profile}\n{}", run.context());
        assert_eq!(
            run.stdout_str(),
            format!("{marker} /usr/bin/python3 /usr\n"),
            "{profile}\n{}",
            run.context()
        );
    }
}
