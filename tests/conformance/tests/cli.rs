//! Commands that need no container (`spec`, `features`) and the global flags.

use serde_json::Value;
use std::fs;
use std::process::Command;
use vsbx_conformance::*;

/// Strings of a JSON array.
fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("array of strings"))
        .collect()
}

#[track_caller]
fn assert_contains_all(have: &[&str], want: &[&str], what: &str) {
    let missing: Vec<&&str> = want.iter().filter(|w| !have.contains(w)).collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}; has {have:?}");
}

/// Runs `spec EXTRA...` with `dir` as the working directory and returns the written config.
fn spec_in(rt: &Runtime, dir: &std::path::Path, extra: &[&str]) -> (Outcome, Option<Value>) {
    let mut cmd = Command::new(runtime());
    cmd.arg("spec").args(extra).current_dir(dir);
    let out = rt.exec_command(&mut cmd);
    let cfg = fs::read_to_string(dir.join("config.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).expect("config.json is JSON"));
    (out, cfg)
}

#[test]
fn spec_writes_default_config() {
    let rt = Runtime::new("spec");
    let dir = TempDir::new("spec");
    let (out, cfg) = spec_in(&rt, dir.path(), &[]);
    out.assert_ok();
    let cfg = cfg.expect("spec writes config.json in the working directory");
    assert!(
        cfg["ociVersion"].as_str().unwrap().starts_with("1."),
        "{cfg}"
    );
    assert_eq!(cfg["root"]["path"], "rootfs");
    assert_eq!(cfg["root"]["readonly"], true);
    assert_eq!(cfg["process"]["terminal"], true);
    assert_eq!(cfg["process"]["args"], serde_json::json!(["sh"]));
    assert_eq!(cfg["process"]["cwd"], "/");
    assert_eq!(cfg["process"]["noNewPrivileges"], true);
    let ns: Vec<&str> = cfg["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_contains_all(
        &ns,
        &["pid", "network", "ipc", "uts", "mount"],
        "default namespaces",
    );
    assert!(
        !ns.contains(&"user"),
        "the default spec has no user namespace"
    );
    let dests: Vec<&str> = cfg["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["destination"].as_str().unwrap())
        .collect();
    assert_contains_all(
        &dests,
        &[
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/sys/fs/cgroup",
        ],
        "default mounts",
    );
    let caps = strings(&cfg["process"]["capabilities"]["bounding"]);
    assert_contains_all(
        &caps,
        &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "bounding",
    );
}

#[test]
fn spec_refuses_to_overwrite() {
    // runc: "File config.json exists. Remove it first".
    let rt = Runtime::new("spec-overwrite");
    let dir = TempDir::new("spec-overwrite");
    fs::write(dir.path().join("config.json"), "{\"mine\": true}").unwrap();
    let (out, cfg) = spec_in(&rt, dir.path(), &[]);
    out.assert_error("exists");
    assert_eq!(cfg.unwrap()["mine"], true, "existing config.json untouched");
}

#[test]
fn spec_bundle_flag_picks_the_directory() {
    let rt = Runtime::new("spec-bundle");
    let cwd = TempDir::new("spec-cwd");
    let target = TempDir::new("spec-target");
    let (out, in_cwd) = spec_in(
        &rt,
        cwd.path(),
        &["--bundle", target.path().to_str().unwrap()],
    );
    out.assert_ok();
    assert!(in_cwd.is_none(), "nothing written in the working directory");
    assert!(
        target.path().join("config.json").is_file(),
        "config.json written in --bundle dir"
    );
}

#[test]
fn spec_rootless_has_user_namespace_and_mappings() {
    let rt = Runtime::new("spec-rootless");
    let dir = TempDir::new("spec-rootless");
    let (out, cfg) = spec_in(&rt, dir.path(), &["--rootless"]);
    out.assert_ok();
    let cfg = cfg.unwrap();
    let ns: Vec<&str> = cfg["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(
        ns.contains(&"user"),
        "rootless spec has a user namespace: {ns:?}"
    );
    // runc also drops the network namespace (a rootless user cannot configure one).
    assert!(!ns.contains(&"network"), "{ns:?}");
    // SAFETY: getters without side effects.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let one = |id: u32| serde_json::json!([{ "containerID": 0, "hostID": id, "size": 1 }]);
    assert_eq!(cfg["linux"]["uidMappings"], one(uid));
    assert_eq!(cfg["linux"]["gidMappings"], one(gid));
}

#[test]
fn features_reports_capabilities() {
    let rt = Runtime::new("features");
    let out = rt.exec(&["features"]);
    out.assert_ok();
    let f: Value = serde_json::from_str(&out.stdout).expect("features prints JSON");
    assert!(
        f["ociVersionMin"].as_str().unwrap().starts_with("1.0"),
        "{f}"
    );
    assert!(
        f["ociVersionMax"].as_str().unwrap().starts_with("1."),
        "{f}"
    );
    // Hooks listed must be OCI hook names (a runtime lists only those it runs).
    let known = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ];
    // Every OCI hook kind is run (tests/conformance/tests/hooks.rs), so all are listed.
    assert_contains_all(&strings(&f["hooks"]), &known, "hooks");
    for h in strings(&f["hooks"]) {
        assert!(known.contains(&h), "unknown hook {h}");
    }
    // Mount options this suite uses.
    assert_contains_all(
        &strings(&f["mountOptions"]),
        &[
            "ro",
            "rw",
            "bind",
            "rbind",
            "nosuid",
            "nodev",
            "noexec",
            "relatime",
            "strictatime",
            "private",
            "rprivate",
            "shared",
            "rshared",
            "slave",
            "rslave",
            "rro",
            "rnosuid",
            "rnoexec",
            "rnodev",
            "rnoatime",
            "rstrictatime",
            "rnodiratime",
            "rnosymfollow",
        ],
        "mountOptions",
    );
    assert_contains_all(
        &strings(&f["linux"]["namespaces"]),
        &["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
        "linux.namespaces",
    );
    assert_contains_all(
        &strings(&f["linux"]["capabilities"]),
        &[
            "CAP_CHOWN",
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_ADMIN",
            "CAP_AUDIT_WRITE",
        ],
        "linux.capabilities",
    );
    assert_eq!(f["linux"]["cgroup"]["v1"], true, "{f}");
    assert_eq!(f["linux"]["cgroup"]["v2"], true, "{f}");
    assert_eq!(f["linux"]["seccomp"]["enabled"], true, "{f}");
    assert_contains_all(
        &strings(&f["linux"]["seccomp"]["actions"]),
        &["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"],
        "seccomp actions",
    );
}

#[test]
fn log_file_in_json_format_on_failure() {
    let rt = Runtime::new("log-json");
    let bundle = TempDir::new("log-json-empty"); // no config.json in it
    let log = rt.scratch().join("runtime.log");
    let id = unique_id("log-json");
    rt.track(&id);
    let out = rt.exec(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        bundle.path().to_str().unwrap(),
        id.as_str(),
    ]);
    out.assert_failed();
    let text = fs::read_to_string(&log).expect("log file written");
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?} not JSON: {e}")))
        .collect();
    assert!(!lines.is_empty(), "log has lines");
    for l in &lines {
        for key in ["level", "msg", "time"] {
            assert!(l[key].is_string(), "log line lacks {key}: {l}");
        }
    }
    let err = lines
        .iter()
        .find(|l| l["level"] == "error")
        .expect("an error line");
    assert!(
        err["msg"].as_str().unwrap().contains("config.json"),
        "error names the file: {err}"
    );
    // runc still prints the error on stderr too (as a plain line when --log is given).
    assert!(out.stderr.contains("config.json"), "{out}");
}

#[test]
fn root_that_cannot_be_created_fails_cleanly() {
    let scratch = TempDir::new("bad-root");
    let file = scratch.path().join("a-file");
    fs::write(&file, "").unwrap();
    let bundle = Bundle::new("bad-root");
    bundle.save();
    // A root under a regular file, and one under /proc (where no directory can be made).
    for root in [
        file.join("state"),
        "/proc/vsbx-conformance-no-such/state".into(),
    ] {
        let id = unique_id("bad-root");
        let mut cmd = Command::new(runtime());
        cmd.arg("--root")
            .arg(&root)
            .args(["create", "--bundle"])
            .arg(bundle.path())
            .arg(&id);
        let out = run_with_timeout(&mut cmd, scratch.path(), "create");
        out.assert_error("");
        assert!(!root.exists());
        assert!(cgroup_leftovers(&id, None).is_empty(), "no cgroup for {id}");
        assert!(mounts_under(bundle.path()).is_empty());
    }
}

#[test]
fn root_with_missing_parents_is_created() {
    // runc creates the whole --root path (MkdirAll), parents included.
    let scratch = TempDir::new("deep-root");
    let root = scratch.path().join("a/b/c");
    let mut cmd = Command::new(runtime());
    cmd.arg("--root").arg(&root).arg("list");
    let out = run_with_timeout(&mut cmd, scratch.path(), "list");
    out.assert_ok();
    assert!(root.is_dir());
}

#[test]
fn run_accepts_no_subreaper() {
    // runc 1.1 `run --no-subreaper`; vsbx never makes itself a subreaper and accepts the flag.
    let rt = Runtime::new("no-subreaper");
    let mut b = Bundle::new("no-subreaper");
    b.sh("echo ran");
    let id = unique_id("no-subreaper");
    let out = rt.run(&id, &b, &["--no-subreaper"]);
    out.assert_ok();
    assert_eq!(out.stdout, "ran\n", "{out}");
    rt.assert_gone(&id, &b, None);
}

/// `runtime --root ROOT GLOBAL... run --bundle B ID` (global flags before the command).
fn run_with_globals(rt: &Runtime, globals: &[&str], id: &str, b: &Bundle) -> Outcome {
    b.save();
    rt.track(id);
    let mut cmd = Command::new(runtime());
    cmd.args(globals)
        .arg("--root")
        .arg(rt.root())
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(id);
    rt.exec_command(&mut cmd)
}

#[test]
fn global_rootless_takes_true_false_and_auto() {
    // runc 1.1's --rootless (cgroups as for a user without root). Run by root here, every
    // value runs the container, which is still placed in its own cgroup with its limit.
    let rt = Runtime::new("rootless-flag");
    for value in ["true", "false", "auto", "1", "FALSE", "Auto"] {
        let mut b = Bundle::new("rootless-flag");
        b.config()["linux"]["resources"]["pids"] = serde_json::json!({"limit": 77});
        // In its own cgroup: the pids hierarchy's line (v1), the one line (v2).
        b.sh(if unified_host() {
            "grep -c '^0::' /proc/self/cgroup"
        } else {
            "cat /proc/self/cgroup | grep -c pids"
        });
        let id = unique_id("rootless-flag");
        let out = run_with_globals(&rt, &["--rootless", value], &id, &b);
        out.assert_ok();
        assert_eq!(out.stdout, "1\n", "--rootless {value}: {out}");
        rt.assert_gone(&id, &b, None);
    }
    // The limit is applied with --rootless true as well: root may write every cgroup.
    let mut b = Bundle::new("rootless-flag-limit");
    b.config()["linux"]["resources"]["pids"] = serde_json::json!({"limit": 77});
    b.args(&["sleep", "1000"]);
    b.save();
    let id = unique_id("rootless-flag-limit");
    rt.track(&id);
    let mut cmd = Command::new(runtime());
    cmd.args(["--rootless", "true", "--root"])
        .arg(rt.root())
        .args(["run", "--detach", "--bundle"])
        .arg(b.path())
        .arg(&id);
    rt.exec_command(&mut cmd).assert_ok();
    let pid = rt.pid(&id);
    let dir = cgroup_dir_of(pid, "pids").expect("a pids cgroup");
    assert_eq!(
        fs::read_to_string(dir.join("pids.max")).unwrap().trim(),
        "77"
    );
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn global_rootless_refuses_other_values() {
    let rt = Runtime::new("rootless-bad");
    let b = Bundle::new("rootless-bad");
    let id = unique_id("rootless-bad");
    let out = run_with_globals(&rt, &["--rootless", "sometimes"], &id, &b);
    // runc: 'strconv.ParseBool: parsing "sometimes": invalid syntax'.
    out.assert_error("sometimes");
    assert!(rt.list_ids().is_empty(), "nothing created: {out}");
    rt.assert_gone(&id, &b, None);
}

#[test]
fn global_criu_is_accepted() {
    // runc 1.1's --criu PATH only matters to checkpoint and restore; other commands run
    // whatever it names.
    let rt = Runtime::new("criu-flag");
    let mut b = Bundle::new("criu-flag");
    b.sh("echo ran");
    let id = unique_id("criu-flag");
    let out = run_with_globals(&rt, &["--criu", "/nonexistent/criu"], &id, &b);
    out.assert_ok();
    assert_eq!(out.stdout, "ran\n", "{out}");
    rt.assert_gone(&id, &b, None);
}
