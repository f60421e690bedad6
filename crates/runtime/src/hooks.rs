//! OCI hooks: run a hook's program with the container state on its stdin, its own
//! args and env (or, where it has none, the caller's default), and an optional timeout. Where and when each kind runs is decided by
//! the callers (container.rs for the runtime's hooks, linux::init for the container's).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};

use crate::error::{Error, Result};

/// The hook kinds by their config.json names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Kind {
    /// Every hook kind, in the order of the container's life.
    pub const ALL: [Kind; 6] = [
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::Prestart,
        Kind::StartContainer,
        Kind::Poststart,
        Kind::Poststop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    pub fn list(self, hooks: Option<&Hooks>) -> &[Hook] {
        let Some(h) = hooks else { return &[] };
        let v = match self {
            Kind::Prestart => h.prestart(),
            Kind::CreateRuntime => h.create_runtime(),
            Kind::CreateContainer => h.create_container(),
            Kind::StartContainer => h.start_container(),
            Kind::Poststart => h.poststart(),
            Kind::Poststop => h.poststop(),
        };
        v.as_deref().unwrap_or(&[])
    }
}

/// Checks every hook before anything is created (part of the config's validation): its path
/// must be absolute and its timeout, if any, above zero.
pub fn check(hooks: Option<&Hooks>) -> Result<()> {
    for kind in [
        Kind::Prestart,
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::StartContainer,
        Kind::Poststart,
        Kind::Poststop,
    ] {
        for (i, h) in kind.list(hooks).iter().enumerate() {
            if !h.path().is_absolute() {
                return Err(Error::invalid(format!(
                    "hooks.{}[{i}].path: {} is not absolute",
                    kind.name(),
                    h.path().display()
                )));
            }
            if h.timeout().is_some_and(|t| t <= 0) {
                return Err(Error::invalid(format!(
                    "hooks.{}[{i}].timeout: must be above zero",
                    kind.name()
                )));
            }
        }
    }
    Ok(())
}

/// Runs every hook of `kind` in order; the first failure stops and is returned. A hook
/// without an `env` of its own runs with `default_env` (the container process's for
/// startContainer, as runc; none for the hooks run by the runtime on the host).
pub fn run_all(
    kind: Kind,
    hooks: Option<&Hooks>,
    state_json: &str,
    default_env: &[String],
) -> Result<()> {
    for (i, h) in kind.list(hooks).iter().enumerate() {
        run_one(h, state_json, default_env).map_err(|e| {
            Error::other(format!(
                "hooks.{}[{i}] ({}): {e}",
                kind.name(),
                h.path().display()
            ))
        })?;
    }
    Ok(())
}

/// Runs every hook of `kind`, returning a warning for each failure (poststart, poststop).
pub fn run_all_warn(kind: Kind, hooks: Option<&Hooks>, state_json: &str) -> Vec<String> {
    kind.list(hooks)
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            run_one(h, state_json, &[])
                .err()
                .map(|e| format!("hooks.{}[{i}] ({}): {e}", kind.name(), h.path().display()))
        })
        .collect()
}

fn run_one(h: &Hook, state_json: &str, default_env: &[String]) -> Result<()> {
    let mut cmd = Command::new(h.path());
    if let Some(args) = h.args() {
        if let Some((arg0, rest)) = args.split_first() {
            cmd.arg0(arg0).args(rest);
        }
    }
    cmd.env_clear();
    // `env: []` is an empty environment; only a missing `env` takes the default.
    for kv in h.env().as_deref().unwrap_or(default_env) {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| Error::os("cannot run the hook", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let deadline = h
        .timeout()
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    loop {
        match child
            .try_wait()
            .map_err(|e| Error::os("waiting for the hook", e))?
        {
            Some(st) if st.success() => return Ok(()),
            Some(st) => return Err(Error::other(format!("exited with {st}"))),
            None => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::other(format!(
                "timed out after {}s",
                h.timeout().unwrap_or(0)
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: &str) -> Hook {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn state_on_stdin_args_env_and_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let h = hook(&format!(
            r#"{{"path":"/bin/sh","args":["sh","-c","cat > {} ; echo \"$FOO\" >> {}"],"env":["FOO=bar"]}}"#,
            out.display(),
            out.display()
        ));
        run_one(&h, r#"{"id":"x"}"#, &["FOO=default".into()]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"id\":\"x\"}bar\n"
        );
        let bad = hook(r#"{"path":"/bin/sh","args":["sh","-c","exit 3"]}"#);
        assert!(run_one(&bad, "", &[])
            .unwrap_err()
            .to_string()
            .contains("exit status: 3"));
    }

    #[test]
    fn default_env_only_without_env_of_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let script = format!(
            "echo \"${{FOO-unset}} ${{BAR-unset}}\" >> {}",
            out.display()
        );
        let default = ["FOO=default".to_string(), "BAR=default".to_string()];
        for env in ["", r#","env":[]"#, r#","env":["FOO=own"]"#] {
            let h = hook(&format!(
                r#"{{"path":"/bin/sh","args":["sh","-c",{}]{env}}}"#,
                serde_json::to_string(&script).unwrap()
            ));
            run_one(&h, "", &default).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "default default\nunset unset\nown unset\n"
        );
    }

    #[test]
    fn check_names_the_bad_field() {
        let hooks = |json: &str| -> Hooks { serde_json::from_str(json).unwrap() };
        let ok =
            hooks(r#"{"prestart":[{"path":"/bin/true","timeout":1}],"poststop":[{"path":"/x"}]}"#);
        check(Some(&ok)).unwrap();
        check(None).unwrap();
        for (json, field) in [
            (
                r#"{"poststop":[{"path":"/x"},{"path":"rel"}]}"#,
                "hooks.poststop[1].path",
            ),
            (
                r#"{"startContainer":[{"path":"./x"}]}"#,
                "hooks.startContainer[0].path",
            ),
            (
                r#"{"createRuntime":[{"path":"/x","timeout":0}]}"#,
                "hooks.createRuntime[0].timeout",
            ),
            (
                r#"{"prestart":[{"path":"/x","timeout":-3}]}"#,
                "hooks.prestart[0].timeout",
            ),
        ] {
            let e = check(Some(&hooks(json))).unwrap_err().to_string();
            assert!(e.starts_with(field), "{json}: {e}");
        }
    }

    #[test]
    fn timeout_kills_the_hook() {
        let h = hook(r#"{"path":"/bin/sh","args":["sh","-c","sleep 10"],"timeout":1}"#);
        let t = Instant::now();
        assert!(run_one(&h, "", &[])
            .unwrap_err()
            .to_string()
            .contains("timed out"));
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
