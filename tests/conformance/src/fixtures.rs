//! Fixtures shared by the command tests: a running container to act on, `exec`, and
//! reading /proc status fields.

use serde_json::json;

use crate::{wait_until, Bundle, Outcome, Runtime};

/// A running container for commands to act on: a tmpfs at /tmp (so that only the container's
/// mount namespace has it), a file written there by the init, /out bind-mounted from the host,
/// and `ready` written to /out once the init is set up. Returns the init's host pid.
pub fn running(rt: &Runtime, id: &str, b: &mut Bundle, edit: impl FnOnce(&mut Bundle)) -> i32 {
    b.out_dir();
    b.add_mount(json!({
        "destination": "/tmp",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=1m", "mode=1777"],
    }));
    b.sh("echo from-init > /tmp/init-file; echo ready > /out/ready; exec sleep 1000");
    edit(b);
    let pid = rt.create_and_start(id, b);
    let ready = b.path().join("out/ready");
    assert!(
        wait_until(|| ready.exists()),
        "the container init never got ready"
    );
    pid
}

/// `exec ID ARGS...`.
#[track_caller]
pub fn exec_in(rt: &Runtime, id: &str, flags: &[&str], args: &[&str]) -> Outcome {
    let mut all = vec!["exec"];
    all.extend_from_slice(flags);
    all.push(id);
    all.extend_from_slice(args);
    rt.exec(&all)
}

pub fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
        .to_string()
}
