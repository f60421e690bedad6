//! End-to-end tests of `vsbx run` / `vsbx plot`: the binary at target/debug/vsbx (build it
//! with `cargo build -p vsbx-sandbox`; or point VSBX_BIN at one) is spawned for every case,
//! and after every run the host is checked for leftovers (cgroups, state, temp dirs,
//! mounts, processes). Needs root, like the runtime. The shell runner's rootfs is made on
//! first use. The programs run in the sandbox are in tests/programs/.
//!
//! - profiles: each profile's intended workload, and what each profile denies (with the errno)
//! - limits:   memory (OOM), pids (fork bombs), wall clock, output flood
//! - errors:   bad input: one `vsbx: error:` line, exit 2, nothing left behind
//! - images:   runners from podman-saved images (each format), list, rm
//! - runners:  hello in python, node, shell, rust, go; compile errors
//! - records:  --report, --audit, --monitor + `vsbx plot`, the summary line, exit codes
//! - rootless: as an ordinary user (user namespace; delegated cgroup or rlimits)
//! - rootless_attacks: a user's run against the caller's files, identity, processes, state
//! - security: symlinked inputs, bounded --output, a uid per run, default timeout, escapes

mod errors;
mod images;
mod limits;
mod profiles;
mod records;
mod rootless;
mod rootless_attacks;
mod runners;
mod security;
mod support;
