//! Profiles rendered as OCI spec fragments and applied to a full spec.

use oci_spec::runtime::{LinuxNamespaceType, LinuxSeccompAction, Spec};
use serde_json::Value;
use vsbx_policy::{PolicyError, Profile, ViolationAction};

fn spec_json(profile: &str) -> Value {
    let profile = Profile::builtin(profile).expect("builtin");
    let fragment = profile
        .to_oci(&profile.default_options())
        .expect("fragment");
    let mut spec = Spec::default();
    fragment.apply_to(&mut spec).expect("apply");
    let text = serde_json::to_string_pretty(&spec).expect("serialize");
    // Valid OCI: the oci-spec types read it back unchanged.
    let back: Spec = serde_json::from_str(&text).expect("reads back as an OCI spec");
    assert_eq!(back, spec);
    serde_json::from_str(&text).expect("json")
}

fn rules_for<'a>(seccomp: &'a Value, syscall: &str) -> Vec<&'a Value> {
    seccomp["syscalls"]
        .as_array()
        .expect("syscalls")
        .iter()
        .filter(|rule| {
            rule["names"]
                .as_array()
                .is_some_and(|n| n.iter().any(|x| x == syscall))
        })
        .collect()
}

#[test]
fn compute_spec_has_every_hardening_field() {
    let json = spec_json("compute");
    let process = &json["process"];
    assert_eq!(process["user"]["uid"], 65534);
    assert_eq!(process["user"]["gid"], 65534);
    assert_eq!(process["noNewPrivileges"], true);
    for set in [
        "bounding",
        "effective",
        "inheritable",
        "permitted",
        "ambient",
    ] {
        assert_eq!(process["capabilities"][set], serde_json::json!([]), "{set}");
    }
    assert_eq!(json["root"]["readonly"], true);

    let linux = &json["linux"];
    let namespaces: Vec<&str> = linux["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .map(|ns| ns["type"].as_str().expect("type"))
        .collect();
    for ns in ["pid", "network", "ipc", "uts", "mount", "cgroup"] {
        assert!(namespaces.contains(&ns), "{ns} missing from {namespaces:?}");
    }
    assert!(!namespaces.contains(&"user"));
    let masked = linux["maskedPaths"].as_array().expect("masked");
    for path in [
        "/proc/kcore",
        "/proc/keys",
        "/sys/firmware",
        "/proc/sched_debug",
        "/proc/scsi",
    ] {
        assert!(masked.iter().any(|p| p == path), "{path}");
    }
    let readonly = linux["readonlyPaths"].as_array().expect("readonly");
    for path in [
        "/proc/sys",
        "/proc/sysrq-trigger",
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
    ] {
        assert!(readonly.iter().any(|p| p == path), "{path}");
    }
    assert_eq!(linux["resources"]["memory"]["limit"], 512 << 20);
    assert_eq!(linux["resources"]["pids"]["limit"], 128);
    assert_eq!(linux["resources"]["cpu"]["quota"], 100_000);
    assert_eq!(linux["resources"]["cpu"]["period"], 100_000);

    let seccomp = &linux["seccomp"];
    assert_eq!(seccomp["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(seccomp["defaultErrnoRet"], 1);
    assert_eq!(
        seccomp["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64"])
    );

    let clone = rules_for(seccomp, "clone");
    assert_eq!(clone.len(), 1);
    assert_eq!(clone[0]["action"], "SCMP_ACT_ALLOW");
    assert_eq!(
        clone[0]["args"],
        serde_json::json!([{ "index": 0, "value": 0x7E02_0000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }])
    );
    let clone3 = rules_for(seccomp, "clone3");
    assert_eq!(clone3.len(), 1);
    assert_eq!(clone3[0]["action"], "SCMP_ACT_ERRNO");
    assert_eq!(clone3[0]["errnoRet"], 38);
    let socket = rules_for(seccomp, "socket");
    assert_eq!(socket.len(), 1);
    assert_eq!(socket[0]["args"][0]["value"], 1);
    assert!(rules_for(seccomp, "ptrace").is_empty());
    assert!(
        rules_for(seccomp, "futex")[0]["args"].is_null(),
        "futex is unconditional"
    );

    let mounts = json["mounts"].as_array().expect("mounts");
    let tmp = mounts
        .iter()
        .find(|m| m["destination"] == "/tmp")
        .expect("/tmp");
    assert_eq!(tmp["type"], "tmpfs");
    assert!(tmp["options"]
        .as_array()
        .expect("options")
        .iter()
        .any(|o| o == "size=67108864"));
    assert!(mounts.iter().any(|m| m["destination"] == "/output"));
    assert_eq!(
        mounts
            .iter()
            .filter(|m| m["destination"] == "/dev/shm")
            .count(),
        1,
        "replaced, not duplicated"
    );
    assert!(
        mounts.iter().any(|m| m["destination"] == "/proc"),
        "other mounts kept"
    );
    assert_eq!(json["annotations"]["org.vsbx.policy.profile"], "compute");
    assert_eq!(json["annotations"]["org.vsbx.policy.version"], "1");
}

#[test]
fn minimal_has_no_output_mount_and_tight_limits() {
    let json = spec_json("minimal");
    let mounts = json["mounts"].as_array().expect("mounts");
    assert!(!mounts.iter().any(|m| m["destination"] == "/output"));
    assert!(mounts.iter().any(|m| m["destination"] == "/tmp"));
    assert_eq!(json["linux"]["resources"]["pids"]["limit"], 8);
    let rlimits = json["process"]["rlimits"].as_array().expect("rlimits");
    assert!(rlimits
        .iter()
        .any(|r| r["type"] == "RLIMIT_CORE" && r["hard"] == 0));
    assert!(rlimits
        .iter()
        .any(|r| r["type"] == "RLIMIT_NOFILE" && r["hard"] == 64));
}

#[test]
fn host_network_only_for_network_profiles() {
    let compute = Profile::builtin("compute").expect("compute");
    let mut options = compute.default_options();
    options.host_network = true;
    assert!(matches!(
        compute.to_oci(&options),
        Err(PolicyError::HostNetworkNotAllowed { .. })
    ));

    let network = Profile::builtin("network").expect("network");
    let default = network
        .to_oci(&network.default_options())
        .expect("fragment");
    assert!(default
        .namespaces
        .iter()
        .any(|ns| ns.typ() == LinuxNamespaceType::Network));
    let mut options = network.default_options();
    options.host_network = true;
    options.user_namespace = true;
    let shared = network.to_oci(&options).expect("fragment");
    assert!(!shared
        .namespaces
        .iter()
        .any(|ns| ns.typ() == LinuxNamespaceType::Network));
    assert!(shared
        .namespaces
        .iter()
        .any(|ns| ns.typ() == LinuxNamespaceType::User));
    assert!(shared.host_network);
}

#[test]
fn options_override_limits_and_violation_action() {
    let profile = Profile::builtin("io").expect("io");
    let mut options = profile.default_options();
    options.limits.memory_bytes = 64 << 20;
    options.limits.cpu_millis = 250;
    options.on_violation = ViolationAction::KillProcess;
    let fragment = profile.to_oci(&options).expect("fragment");
    assert_eq!(
        fragment.seccomp.default_action(),
        LinuxSeccompAction::ScmpActKillProcess
    );
    assert_eq!(fragment.seccomp.default_errno_ret(), None);
    let memory = fragment.resources.memory().as_ref().expect("memory");
    assert_eq!(memory.limit(), Some(64 << 20));
    let cpu = fragment.resources.cpu().as_ref().expect("cpu");
    assert_eq!(cpu.quota(), Some(25_000));
}

#[test]
fn unrestricted_allows_by_default_but_keeps_the_arch_and_isolation() {
    let json = spec_json("unrestricted");
    let seccomp = &json["linux"]["seccomp"];
    assert_eq!(seccomp["defaultAction"], "SCMP_ACT_ALLOW");
    assert_eq!(
        seccomp["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64"])
    );
    assert_eq!(json["process"]["noNewPrivileges"], true);
    assert_eq!(json["process"]["user"]["uid"], 65534);

    let debug = Profile::from_toml_str(
        "name = \"debug\"\nversion = 1\nextends = \"unrestricted\"\ndeny = [\"bpf\"]\n",
        "debug.toml",
    )
    .expect("loads");
    let fragment = debug.to_oci(&debug.default_options()).expect("fragment");
    let rules = fragment.seccomp.syscalls().as_ref().expect("rules");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].names(), &vec!["bpf".to_string()]);
    assert_eq!(rules[0].action(), LinuxSeccompAction::ScmpActErrno);
}

#[test]
fn fragment_json_has_the_config_shape() {
    let profile = Profile::builtin("network").expect("network");
    let json = profile
        .to_oci(&profile.default_options())
        .expect("fragment")
        .to_config_json()
        .expect("json");
    assert_eq!(json["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["process"]["noNewPrivileges"], true);
    assert_eq!(json["root"]["readonly"], true);
    assert!(json["mounts"].as_array().is_some_and(|m| m.len() == 3));
}

#[test]
fn rlimit_enforcement_replaces_the_cgroup_limits() {
    let profile = Profile::builtin("compute").expect("builtin");
    let mut options = profile.default_options();
    options.limits.memory_bytes = 64 << 20;
    options.limits.pids = 16;
    options.limits.cpu_millis = 500;
    options.enforcement = vsbx_policy::Enforcement::Rlimits {
        wall_clock: std::time::Duration::from_secs(5),
    };
    let fragment = profile.to_oci(&options).expect("fragment");
    let mut spec = Spec::default();
    fragment.apply_to(&mut spec).expect("apply");
    let json: Value = serde_json::to_value(&spec).expect("json");
    let resources = &json["linux"]["resources"];
    for limit in ["memory", "cpu", "pids"] {
        assert!(resources[limit].is_null(), "{limit} left in {resources}");
    }
    let rlimit = |typ: &str| {
        json["process"]["rlimits"]
            .as_array()
            .expect("rlimits")
            .iter()
            .find(|r| r["type"] == typ)
            .map(|r| (r["soft"].as_u64().unwrap(), r["hard"].as_u64().unwrap()))
    };
    assert_eq!(rlimit("RLIMIT_DATA"), Some((64 << 20, 64 << 20)));
    assert_eq!(rlimit("RLIMIT_NPROC"), Some((16, 16)));
    // Half a CPU over 5 s: 2.5 s, rounded up; SIGKILL one second after SIGXCPU.
    assert_eq!(rlimit("RLIMIT_CPU"), Some((3, 4)));
    assert_eq!(
        rlimit("RLIMIT_NOFILE").map(|r| r.0),
        Some(options.limits.open_files)
    );

    // The default, a cgroup, sets no stand-ins.
    let json = spec_json("compute");
    assert!(json["linux"]["resources"]["memory"]["limit"].is_number());
    let types: Vec<&str> = json["process"]["rlimits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert!(
        !types.contains(&"RLIMIT_DATA") && !types.contains(&"RLIMIT_NPROC"),
        "{types:?}"
    );
}
