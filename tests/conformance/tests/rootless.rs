//! Rootless: an ordinary user runs the runtime on the bundle `spec --rootless` writes for it
//! (its own uid and gid mapped to root of a new user namespace), with no `--root` (state under
//! `$XDG_RUNTIME_DIR`), on a host where it may not write any cgroup. runc 1.1.5 runs it; so
//! must vsbx: the container prints its uid map, `state` sees it, `delete` removes it, and the
//! state directory keeps nothing. The test user `vsbxtest` is made by the test if missing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use vsbx_conformance::*;

const USER: &str = "vsbxtest";

fn uid_of(user: &str) -> u32 {
    let exists = Command::new("id").arg("-u").arg(user).output().unwrap();
    if !exists.status.success() {
        let made = Command::new("useradd")
            .args(["-M", "-s", "/bin/sh", user])
            .status()
            .expect("useradd");
        assert!(made.success(), "useradd {user} failed");
    }
    let out = Command::new("id").arg("-u").arg(user).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Runs `sh -c SCRIPT` as the test user, with XDG_RUNTIME_DIR set; returns its output.
fn as_user(script: &str, xdg: &str) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", USER, "--", "env"])
        .arg(format!("XDG_RUNTIME_DIR={xdg}"))
        .args(["sh", "-c", script])
        .output()
        .expect("runuser")
}

/// A bundle from `spec --rootless` written by the test user, running `args`, and the
/// user's XDG_RUNTIME_DIR, all under one temp dir readable by the user.
struct UserBundle {
    _dir: TempDir,
    /// The bundle directory.
    bdir: String,
    xdg: String,
    /// The runtime binary.
    rt: String,
    uid: u32,
}

fn user_bundle(name: &str, args: serde_json::Value) -> UserBundle {
    let uid = uid_of(USER);
    let dir = TempDir::new(name);
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let b = Bundle::new(name);
    let bundle = dir.path().join("bundle");
    fs::create_dir(&bundle).unwrap();
    fs::set_permissions(&bundle, fs::Permissions::from_mode(0o777)).unwrap();
    let cp = Command::new("cp")
        .arg("-a")
        .arg(b.rootfs())
        .arg(bundle.join("rootfs"))
        .status()
        .unwrap();
    assert!(cp.success());
    let xdg = dir.path().join("xdg");
    fs::create_dir(&xdg).unwrap();
    Command::new("chown")
        .args([USER, &xdg.display().to_string()])
        .status()
        .unwrap();
    fs::set_permissions(&xdg, fs::Permissions::from_mode(0o700)).unwrap();
    let rt = runtime().display().to_string();
    let bdir = bundle.display().to_string();
    let xdg = xdg.display().to_string();

    // The spec is written by the user, so that it maps the user's own ids.
    let spec = as_user(&format!("cd '{bdir}' && '{rt}' spec --rootless"), &xdg);
    assert!(spec.status.success(), "spec --rootless: {spec:?}");
    let cfg = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&cfg).unwrap()).unwrap();
    assert_eq!(config["linux"]["uidMappings"][0]["hostID"], uid);
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = args;
    fs::write(&cfg, config.to_string()).unwrap();
    UserBundle {
        _dir: dir,
        bdir,
        xdg,
        rt,
        uid,
    }
}

#[test]
fn an_ordinary_user_runs_the_rootless_spec() {
    let UserBundle {
        _dir,
        bdir,
        xdg,
        rt,
        uid,
    } = user_bundle("rootless", serde_json::json!(["cat", "/proc/self/uid_map"]));

    // Output to a file the user owns (runc fchowns its stdio to the container's root).
    let id = unique_id("rootless");
    let script = format!(
        "cd '{bdir}' && '{rt}' run {id} > '{xdg}/out' 2> '{xdg}/err'; echo rc=$?; cat '{xdg}/out' '{xdg}/err'; \
         '{rt}' state {id} >/dev/null 2>&1 && echo still-there; ls '{xdg}'/*/ 2>/dev/null | grep -c {id}"
    );
    let out = as_user(&script, &xdg);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rc=0"), "rootless run failed:\n{text}");
    let map: Vec<String> = text
        .lines()
        .find(|l| l.split_whitespace().count() == 3 && l.trim_start().starts_with('0'))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    assert_eq!(
        map,
        ["0".to_string(), uid.to_string(), "1".to_string()],
        "the container's uid map should map root to the user:\n{text}"
    );
    assert!(
        !text.contains("still-there"),
        "the container outlived run:\n{text}"
    );
    assert!(
        text.trim_end().ends_with('0'),
        "the state directory keeps the container:\n{text}"
    );
}

/// As rootless podman runs it: the runtime is root of a user namespace it did not make
/// (here `unshare --user` with ids 0-65535 mapped to themselves, as podman maps root and the
/// subordinate range), and the
/// container has no user namespace of its own. The kernel refuses device nodes in any user
/// namespace but the initial one, so the default /dev/null, /dev/zero, ... must be bound
/// from the host (runc does it when it finds itself in a user namespace); before this vsbx
/// failed with `mknod /dev/null: Operation not permitted`.
#[test]
fn a_runtime_in_a_user_namespace_it_did_not_make_binds_the_devices() {
    let rt = Runtime::new("in-userns");
    let mut b = Bundle::new("in-userns");
    b.remove_namespace("user");
    b.sh(
        "stat -c '%F %t:%T' /dev/null /dev/zero; echo x > /dev/null && head -c 3 /dev/zero | wc -c",
    );
    b.save();
    let id = unique_id("in-userns");
    rt.track(&id);
    // The user namespace gets ids 0-65535 mapped to themselves (as podman maps root and
    // the subordinate range), written by us as the host's root while the shell waits.
    let mut child = Command::new("unshare")
        .args(["--user", "--", "sh", "-c", "read go && exec \"$@\"", "sh"])
        .arg(runtime())
        .arg("--root")
        .arg(rt.root())
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("unshare");
    let pid = child.id();
    let mapped = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        fs::write(format!("/proc/{pid}/uid_map"), "0 0 65536\n").is_ok()
    });
    assert!(mapped, "could not write the uid map of {pid}");
    fs::write(format!("/proc/{pid}/gid_map"), "0 0 65536\n").unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "character special file 1:3",
            "character special file 1:5",
            "3"
        ],
        "the container's /dev/null and /dev/zero are the real devices"
    );
    rt.assert_gone(&id, &b, None);
}

/// runc 1.1's global `--rootless`: `auto` (the default) and `true` let an ordinary user
/// run without a cgroup it may write; `false` makes the cgroup a requirement, so create
/// fails (naming the cgroup) and leaves nothing behind.
#[test]
fn rootless_false_makes_the_cgroup_a_requirement() {
    let UserBundle {
        _dir,
        bdir,
        xdg,
        rt,
        ..
    } = user_bundle("rootless-false", serde_json::json!(["true"]));
    for value in ["auto", "true", "false"] {
        let id = unique_id("rootless-false");
        let script = format!(
            "cd '{bdir}' && '{rt}' --rootless {value} run {id} > '{xdg}/out' 2> '{xdg}/err'; \
             echo rc=$?; cat '{xdg}/err'; \
             '{rt}' state {id} >/dev/null 2>&1 && echo still-there; \
             ls '{xdg}'/*/ 2>/dev/null | grep -c {id}"
        );
        let out = as_user(&script, &xdg);
        let text = String::from_utf8_lossy(&out.stdout);
        if value == "false" {
            assert!(!text.contains("rc=0"), "--rootless false ran:\n{text}");
            let err = text
                .lines()
                .skip(1)
                .take_while(|l| !l.starts_with("still-there"))
                .collect::<Vec<_>>();
            assert!(
                err.iter().any(|l| l.contains("cgroup")),
                "the error should name the cgroup:\n{text}"
            );
        } else {
            assert!(text.contains("rc=0"), "--rootless {value} failed:\n{text}");
        }
        assert!(!text.contains("still-there"), "left behind:\n{text}");
        assert!(
            text.trim_end().ends_with('0'),
            "the state directory keeps the container:\n{text}"
        );
    }
}
