//! config.json content for each flag (no root needed: nothing is run).

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use common::{config_json, generate_ok, mount_at, Workspace};
use vsbx_bundle_gen::{
    parse_env, parse_mount, NetworkMode, PolicySource, StepKind, UserNamespace, BUILD_DIR,
};

fn namespaces(config: &serde_json::Value) -> Vec<String> {
    config["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .map(|n| n["type"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn python_bundle_is_plain_oci_with_the_runner_binds() {
    let ws = Workspace::new();
    let bundle = generate_ok(
        &ws.request("hello.py", "print(2+2)\n"),
        &common::example_catalog(),
    );
    assert_eq!(bundle.runner, "python");
    assert_eq!(bundle.profile.name, "compute");
    assert_eq!(bundle.network, NetworkMode::None);
    assert_eq!(bundle.steps().len(), 1);
    let config = config_json(&bundle.dir);
    assert_eq!(config["root"]["path"], "rootfs");
    assert_eq!(config["root"]["readonly"], true);
    assert_eq!(
        config["process"]["args"],
        serde_json::json!(["/usr/bin/python3", "/work/hello.py"])
    );
    assert_eq!(config["process"]["cwd"], "/work");
    assert_eq!(config["process"]["user"]["uid"], 65534);
    assert_eq!(config["process"]["noNewPrivileges"], true);
    assert!(config["linux"]["seccomp"]["syscalls"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    for destination in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
        "/tmp",
        "/output",
    ] {
        assert!(mount_at(&config, destination).is_some(), "{destination}");
    }
    let sys = mount_at(&config, "/sys").expect("sys");
    assert!(sys["options"]
        .as_array()
        .expect("options")
        .contains(&"ro".into()));
    let usr = mount_at(&config, "/usr").expect("/usr bind");
    assert_eq!(usr["type"], "bind");
    assert_eq!(usr["source"], "/usr");
    assert!(usr["options"]
        .as_array()
        .expect("options")
        .contains(&"ro".into()));
    assert!(mount_at(&config, "/etc/alternatives").is_some());
    assert_eq!(config["annotations"]["org.vsbx.bundle.runner"], "python");
    assert_eq!(config["annotations"]["org.vsbx.policy.profile"], "compute");
    let env: Vec<&str> = config["process"]["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env.contains(&"PYTHONDONTWRITEBYTECODE=1"), "{env:?}");
    assert!(env.iter().any(|e| e.starts_with("PATH=")), "{env:?}");
}

#[test]
fn rootfs_skeleton_has_mount_points_tmp_1777_and_read_only_work_files() {
    let ws = Workspace::new();
    let bundle = generate_ok(
        &ws.request("hello.py", "print(2+2)\n"),
        &common::example_catalog(),
    );
    let rootfs = bundle.rootfs_path();
    let tmp = std::fs::metadata(rootfs.join("tmp")).expect("tmp");
    assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
    for dir in [
        "proc",
        "sys",
        "dev",
        "usr",
        "etc/alternatives",
        "output",
        "work",
    ] {
        assert!(rootfs.join(dir).is_dir(), "{dir}");
    }
    if std::fs::symlink_metadata("/bin").is_ok_and(|m| m.file_type().is_symlink()) {
        assert_eq!(
            std::fs::read_link(rootfs.join("bin")).ok(),
            std::fs::read_link("/bin").ok()
        );
    }
    let work_file = std::fs::metadata(rootfs.join("work/hello.py")).expect("copied");
    assert_eq!(work_file.permissions().mode() & 0o777, 0o444);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("work/hello.py"))
            .ok()
            .as_deref(),
        Some("print(2+2)\n")
    );
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).expect("passwd");
    assert!(passwd.contains("nobody:x:65534:65534"));
}

#[test]
fn limits_flags_set_cgroup_resources_and_tmp_size() {
    let ws = Workspace::new();
    let mut request = ws.request("hello.py", "print(2+2)\n");
    request.limits.memory_bytes = Some(64 << 20);
    request.limits.cpu_millis = Some(500);
    request.limits.pids = Some(64);
    request.limits.tmp_bytes = Some(16 << 20);
    let bundle = generate_ok(&request, &common::example_catalog());
    let config = config_json(&bundle.dir);
    let resources = &config["linux"]["resources"];
    assert_eq!(resources["memory"]["limit"], 64 << 20);
    assert_eq!(resources["memory"]["swap"], 64 << 20);
    assert_eq!(resources["cpu"]["period"], 100_000);
    assert_eq!(resources["cpu"]["quota"], 50_000);
    assert_eq!(resources["pids"]["limit"], 64);
    let tmp = mount_at(&config, "/tmp").expect("/tmp");
    assert_eq!(tmp["type"], "tmpfs");
    let options = tmp["options"].as_array().expect("options");
    assert!(
        options.contains(&format!("size={}", 16 << 20).into()),
        "{options:?}"
    );
    assert!(options.contains(&"mode=1777".into()));
}

#[test]
fn profile_defaults_apply_without_flags() {
    let ws = Workspace::new();
    let mut request = ws.request("hello.py", "print(2+2)\n");
    request.policy = Some(PolicySource::Builtin("io".into()));
    let bundle = generate_ok(&request, &common::example_catalog());
    let config = config_json(&bundle.dir);
    let limits = vsbx_policy::Profile::builtin("io").expect("io").limits();
    assert_eq!(
        config["linux"]["resources"]["memory"]["limit"],
        limits.memory_bytes
    );
    assert_eq!(config["linux"]["resources"]["pids"]["limit"], limits.pids);
    assert_eq!(config["annotations"]["org.vsbx.policy.profile"], "io");
}

#[test]
fn mounts_and_env_flags() {
    let ws = Workspace::new();
    let data = ws.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    let mut request = ws.request("hello.py", "print(2+2)\n");
    request.mounts = vec![
        parse_mount(&format!("{}:/data:ro", data.display())).expect("mount"),
        parse_mount(&format!("{}:/scratch", data.display())).expect("mount"),
    ];
    request.env = vec![
        parse_env("GREETING=hi").expect("env"),
        parse_env("PATH=/usr/bin").expect("env"),
    ];
    let bundle = generate_ok(&request, &common::example_catalog());
    let config = config_json(&bundle.dir);
    let ro = mount_at(&config, "/data").expect("/data");
    assert_eq!(ro["source"], data.display().to_string());
    assert!(ro["options"]
        .as_array()
        .expect("options")
        .contains(&"ro".into()));
    let rw = mount_at(&config, "/scratch").expect("/scratch");
    assert!(rw["options"]
        .as_array()
        .expect("options")
        .contains(&"rw".into()));
    assert!(bundle.rootfs_path().join("data").is_dir());
    let env: Vec<&str> = config["process"]["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env.contains(&"GREETING=hi"));
    assert!(env.contains(&"PATH=/usr/bin"));
    assert_eq!(
        env.iter().filter(|e| e.starts_with("PATH=")).count(),
        1,
        "{env:?}"
    );
}

#[test]
fn network_flags_choose_the_namespace() {
    let catalog = common::example_catalog();
    let ws = Workspace::new();
    let bundle = generate_ok(&ws.request("a.py", ""), &catalog);
    assert!(namespaces(&config_json(&bundle.dir)).contains(&"network".to_string()));

    let ws = Workspace::new();
    let mut request = ws.request("a.py", "");
    request.policy = Some(PolicySource::Builtin("network".into()));
    let bundle = generate_ok(&request, &catalog);
    assert_eq!(bundle.network, NetworkMode::Loopback);
    assert!(namespaces(&config_json(&bundle.dir)).contains(&"network".to_string()));

    let ws = Workspace::new();
    let mut request = ws.request("a.py", "");
    request.policy = Some(PolicySource::Builtin("network".into()));
    request.network = Some(NetworkMode::Host);
    let bundle = generate_ok(&request, &catalog);
    let config = config_json(&bundle.dir);
    assert!(!namespaces(&config).contains(&"network".to_string()));
    assert!(namespaces(&config).contains(&"pid".to_string()));
    assert_eq!(config["annotations"]["org.vsbx.bundle.network"], "host");
}

#[test]
fn output_dir_replaces_the_output_tmpfs_with_a_bind() {
    let ws = Workspace::new();
    let out = ws.path().join("out");
    std::fs::create_dir(&out).expect("out");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let mut request = ws.request("a.py", "");
    request.output = Some(out.clone());
    let bundle = generate_ok(&request, &common::example_catalog());
    let config = config_json(&bundle.dir);
    let outputs: Vec<_> = config["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter(|m| m["destination"] == "/output")
        .collect();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["type"], "bind");
    assert_eq!(
        outputs[0]["source"],
        out.canonicalize().expect("canon").display().to_string()
    );
    let options = outputs[0]["options"].as_array().expect("options");
    assert!(
        options.contains(&"rw".into()) && options.contains(&"noexec".into()),
        "{options:?}"
    );
}

#[test]
fn timeout_and_user_namespace_are_recorded() {
    let ws = Workspace::new();
    let mut request = ws.request("a.py", "");
    request.timeout = Some(Duration::from_secs(5));
    request.user_namespace = Some(UserNamespace::with_host_base(100_000));
    let bundle = generate_ok(&request, &common::example_catalog());
    assert_eq!(bundle.timeout, Some(Duration::from_secs(5)));
    let config = config_json(&bundle.dir);
    assert_eq!(config["annotations"]["org.vsbx.bundle.timeout"], "5s");
    assert!(namespaces(&config).contains(&"user".to_string()));
    let map = serde_json::json!([{ "hostID": 100000, "containerID": 0, "size": 65536 }]);
    assert_eq!(config["linux"]["uidMappings"], map);
    assert_eq!(config["linux"]["gidMappings"], map);
}

#[test]
fn compiled_runner_gets_a_build_bundle_sharing_the_rootfs() {
    let ws = Workspace::new();
    let request = ws.request("main.go", "package main\nfunc main() {}\n");
    let bundle = generate_ok(&request, &common::example_catalog());
    let build = bundle.build.as_ref().expect("go builds first");
    let steps = bundle.steps();
    assert_eq!(
        steps.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [StepKind::Build, StepKind::Run]
    );
    assert_eq!(steps[0].bundle_dir, build.dir);
    assert_eq!(build.profile.name, "compute");

    let build_config = config_json(&build.dir);
    assert_eq!(build_config["root"]["path"], "../rootfs");
    assert_eq!(build_config["process"]["args"][0], "/usr/bin/go");
    assert!(build_config["process"]["args"]
        .as_array()
        .expect("args")
        .contains(&"/work/main.go".into()));
    let rw = mount_at(&build_config, BUILD_DIR).expect("/build in the build");
    assert!(rw["options"]
        .as_array()
        .expect("options")
        .contains(&"rw".into()));
    assert_eq!(
        build_config["linux"]["resources"]["memory"]["limit"],
        1u64 << 30
    );
    assert_eq!(build_config["annotations"]["org.vsbx.bundle.kind"], "build");

    let run_config = config_json(&bundle.dir);
    assert_eq!(
        run_config["process"]["args"],
        serde_json::json!(["/build/main"])
    );
    let ro = mount_at(&run_config, BUILD_DIR).expect("/build in the run");
    assert!(ro["options"]
        .as_array()
        .expect("options")
        .contains(&"ro".into()));
    assert_eq!(ro["source"], build.artifacts.display().to_string());
    // The sandbox user (65534) can write the artifacts dir.
    let meta = std::fs::metadata(&build.artifacts).expect("artifacts");
    assert!(meta.uid() == 65534 || meta.permissions().mode() & 0o002 != 0);
}

#[test]
fn explicit_runner_overrides_the_extension() {
    let ws = Workspace::new();
    let mut request = ws.request("script.txt", "console.log(1)");
    request.runner = Some("node".into());
    let bundle = generate_ok(&request, &common::example_catalog());
    assert_eq!(
        config_json(&bundle.dir)["process"]["args"],
        serde_json::json!(["/usr/bin/node", "/work/script.txt"])
    );
}

#[test]
fn existing_empty_bundle_dir_is_used() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.bundle_dir()).expect("mkdir");
    let bundle = generate_ok(&ws.request("a.py", ""), &common::example_catalog());
    assert!(bundle.config_path().is_file());
}

#[test]
fn run_as_sets_the_user_and_the_output_owner_and_output_size_the_tmpfs() {
    let ws = Workspace::new();
    let mut request = ws.request("hello.py", "print(1)\n");
    request.run_as = Some((2_000_000_007, 2_000_000_008));
    request.limits.output_bytes = Some(1 << 20);
    let bundle = generate_ok(&request, &common::example_catalog());
    let config = config_json(&bundle.dir);
    assert_eq!(config["process"]["user"]["uid"], 2_000_000_007u32);
    assert_eq!(config["process"]["user"]["gid"], 2_000_000_008u32);
    let output = mount_at(&config, "/output").expect("/output");
    let options: Vec<&str> = output["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(|o| o.as_str())
        .collect();
    for want in ["uid=2000000007", "gid=2000000008", "size=1048576"] {
        assert!(options.contains(&want), "{want} in {options:?}");
    }
}
