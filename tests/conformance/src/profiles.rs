//! Seccomp profile fixtures turned into OCI `linux.seccomp`.

use std::path::Path;

use serde_json::{json, Value};

/// podman's profile (fixtures/podman-seccomp.json) turned into OCI `linux.seccomp` for an
/// amd64 container holding `caps`, as podman does: a rule is kept when its `includes` hold and
/// its `excludes` do not.
pub fn podman_profile(caps: &[&str]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/podman-seccomp.json");
    let text = std::fs::read_to_string(&path).expect("read podman-seccomp.json");
    let profile: Value = serde_json::from_str(&text).expect("podman-seccomp.json is JSON");
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut rules = Vec::new();
    for r in profile["syscalls"].as_array().expect("syscalls") {
        let (inc, exc) = (&r["includes"], &r["excludes"]);
        let inc_caps = list(&inc["caps"]);
        let inc_arches = list(&inc["arches"]);
        if !inc_caps.iter().all(|c| caps.contains(&c.as_str())) {
            continue;
        }
        if !inc_arches.is_empty() && !inc_arches.iter().any(|a| a == "amd64") {
            continue;
        }
        if list(&exc["caps"])
            .iter()
            .any(|c| caps.contains(&c.as_str()))
            || list(&exc["arches"]).iter().any(|a| a == "amd64")
        {
            continue;
        }
        let mut rule = json!({"names": r["names"], "action": r["action"]});
        for key in ["errnoRet", "args"] {
            if !r[key].is_null() {
                rule[key] = r[key].clone();
            }
        }
        rules.push(rule);
    }
    json!({
        "defaultAction": profile["defaultAction"],
        "defaultErrnoRet": profile["defaultErrnoRet"],
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules,
    })
}
