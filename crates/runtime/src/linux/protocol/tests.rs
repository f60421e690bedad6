//! The two sides against each other over a real socketpair, one thread each, with
//! closures for the work between the messages (no root needed). Whatever side fails at
//! whatever step, the other gets a clear error and neither hangs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::parent::Exec;
use super::*;

/// Longer than any step here takes; a side still waiting after it hangs.
const LIMIT: Duration = Duration::from_secs(20);

const STATE: &str = r#"{"ociVersion":"1.0.2","id":"c","status":"creating","pid":42}"#;
const RUNTIME_GONE: &str = "the runtime exited during setup";
const INIT_GONE: &str = "the container init exited during setup";

/// Runs `parent` and `child` on the two ends of a new channel, each in its own thread
/// (which drops its end when it returns, as a process that exits); their results.
fn converse<P, C>(
    parent: impl FnOnce(Channel) -> P + Send + 'static,
    child: impl FnOnce(Channel) -> C + Send + 'static,
) -> (P, C)
where
    P: Send + 'static,
    C: Send + 'static,
{
    let (ours, theirs) = Channel::pair().unwrap();
    let (ptx, prx) = mpsc::channel();
    let (ctx, crx) = mpsc::channel();
    std::thread::spawn(move || ptx.send(parent(ours)));
    std::thread::spawn(move || ctx.send(child(theirs)));
    (wait(prx, "the runtime's"), wait(crx, "the init's"))
}

fn wait<T>(rx: mpsc::Receiver<T>, side: &str) -> T {
    match rx.recv_timeout(LIMIT) {
        Ok(t) => t,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{side} side hung"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{side} side panicked"),
    }
}

/// Where the runtime's side fails (or dies: the same to the init).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParentFails {
    /// Id maps or oomScoreAdj, before `go:`.
    BeforeGo,
    JoiningCgroups,
    RunningHooks,
    /// Writing state.json or the pid file, before `ack`.
    BeforeAck,
}

/// Where the init fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChildFails {
    /// unshare(net), before `go:`.
    BeforeGo,
    /// Joining namespaces or a mount, before the wait before pivot_root.
    AfterGo,
    /// A createContainer hook, pivot_root, ..., the user: before `ready`.
    BeforeReady,
    /// Exits without a word (killed).
    Silently,
}

/// What the two sides saw, and what happened on the way.
struct Outcome {
    parent: Result<()>,
    child: Result<String>,
    /// The runtime's closures ran.
    joined: bool,
    hooks_ran: bool,
}

/// One create conversation: `hooks` as both decide it, a failure on either side at a
/// step (or none).
fn create(
    hooks: bool,
    parent_fails: Option<ParentFails>,
    child_fails: Option<ChildFails>,
) -> Outcome {
    let joined = Arc::new(AtomicBool::new(false));
    let hooks_ran = Arc::new(AtomicBool::new(false));
    let (j, h) = (joined.clone(), hooks_ran.clone());
    let fails = move |at| match parent_fails == Some(at) {
        true => Err(Error::other(format!("runtime failed: {at:?}"))),
        false => Ok(()),
    };
    let parent = move |ours: Channel| -> Result<()> {
        fails(ParentFails::BeforeGo)?;
        parent::setup(
            &ours,
            STATE.to_string(),
            hooks,
            0,
            || {
                fails(ParentFails::JoiningCgroups)?;
                j.store(true, Ordering::SeqCst);
                Ok(())
            },
            || {
                fails(ParentFails::RunningHooks)?;
                h.store(true, Ordering::SeqCst);
                Ok(())
            },
        )
        .map(drop)?;
        fails(ParentFails::BeforeAck)?;
        parent::ack(&ours)
    };
    let (j, h) = (joined.clone(), hooks_ran.clone());
    let child = move |theirs: Channel| -> Result<String> {
        let steps = || {
            let fails = |at| match child_fails == Some(at) {
                true => Err(Error::other(format!("init failed: {at:?}"))),
                false => Ok(()),
            };
            fails(ChildFails::BeforeGo)?;
            let state = child::go(&theirs)?;
            fails(ChildFails::AfterGo)?;
            child::joined(&theirs)?;
            // Its cgroup namespace is made next: the runtime must have moved it by now.
            assert!(
                j.load(Ordering::SeqCst),
                "joined came before the cgroup join"
            );
            child::before_pivot(&theirs, hooks)?;
            assert_eq!(
                h.load(Ordering::SeqCst),
                hooks,
                "go: came before the hooks ran"
            );
            fails(ChildFails::BeforeReady)?;
            child::ready(&theirs)?;
            Ok(state)
        };
        if child_fails == Some(ChildFails::Silently) {
            return Err(Error::other("killed"));
        }
        let r = steps();
        if let Err(e) = &r {
            child::failed(&theirs, e);
        }
        r
    };
    let (parent, child) = converse(parent, child);
    Outcome {
        parent,
        child,
        joined: joined.load(Ordering::SeqCst),
        hooks_ran: hooks_ran.load(Ordering::SeqCst),
    }
}

fn err<T: std::fmt::Debug>(r: Result<T>) -> String {
    r.expect_err("an error").to_string()
}

#[test]
fn plain_create() {
    let o = create(false, None, None);
    o.parent.unwrap();
    assert_eq!(o.child.unwrap(), STATE);
    assert!(o.joined && !o.hooks_ran);
}

#[test]
fn create_with_runtime_hooks() {
    let o = create(true, None, None);
    o.parent.unwrap();
    assert_eq!(o.child.unwrap(), STATE);
    assert!(o.joined && o.hooks_ran);
}

#[test]
fn an_init_that_fails_at_any_step_is_heard_by_the_runtime() {
    for hooks in [false, true] {
        for at in [
            ChildFails::BeforeGo,
            ChildFails::AfterGo,
            ChildFails::BeforeReady,
        ] {
            let o = create(hooks, None, Some(at));
            let why = format!("init failed: {at:?}");
            assert_eq!(err(o.child), why);
            // Whether the runtime was sending or waiting: the init's own words.
            assert_eq!(err(o.parent), why, "hooks {hooks}");
        }
    }
}

#[test]
fn an_init_that_dies_without_a_word_fails_the_runtime() {
    for hooks in [false, true] {
        let o = create(hooks, None, Some(ChildFails::Silently));
        let e = err(o.parent);
        // Gone before `go:` was sent (the send fails) or after (the wait ends).
        assert!(e == INIT_GONE || e.starts_with("sync channel: send"), "{e}");
    }
}

#[test]
fn a_runtime_that_fails_at_any_step_ends_the_init() {
    for hooks in [false, true] {
        for at in [
            ParentFails::BeforeGo,
            ParentFails::JoiningCgroups,
            ParentFails::RunningHooks,
            ParentFails::BeforeAck,
        ] {
            if at == ParentFails::RunningHooks && !hooks {
                continue;
            }
            let o = create(hooks, Some(at), None);
            assert_eq!(err(o.parent), format!("runtime failed: {at:?}"));
            // The init does not wait on: its next wait finds the channel closed.
            assert_eq!(err(o.child), RUNTIME_GONE, "{at:?}");
        }
    }
}

#[test]
fn a_message_out_of_turn_is_named() {
    // The runtime waits for `hooks`; an init that sees no hooks sends `ready`.
    let (parent, child) = converse(
        |ours| parent::setup(&ours, STATE.into(), true, 0, || Ok(()), || Ok(())),
        |theirs| {
            child::go(&theirs)?;
            child::joined(&theirs)?;
            child::before_pivot(&theirs, false)?;
            child::ready(&theirs)
        },
    );
    assert_eq!(
        err(parent),
        "expected hooks (a request to run the prestart and createRuntime hooks) \
         from the container init, got ready"
    );
    assert_eq!(err(child), RUNTIME_GONE);
    // The init waits for the state and gets the cgroup join.
    let (_, child) = converse(|ours| ours.send(&Msg::Joined), |theirs| child::go(&theirs));
    assert_eq!(
        err(child),
        "expected go (the state for the hooks) from the runtime, got joined (the cgroup join)"
    );
}

#[test]
fn kept_directories_come_before_ready() {
    use std::os::fd::AsFd;
    let (parent, child) = converse(
        |ours| {
            let kept = parent::setup(&ours, STATE.into(), false, 1, || Ok(()), || Ok(()))?;
            parent::ack(&ours)?;
            Ok::<_, Error>(kept)
        },
        |theirs| {
            child::go(&theirs)?;
            child::joined(&theirs)?;
            child::before_pivot(&theirs, false)?;
            let dir = std::fs::File::open("/").unwrap();
            child::kept(&theirs, &[dir.as_fd()])?;
            child::ready(&theirs)
        },
    );
    let kept = parent.unwrap();
    child.unwrap();
    assert_eq!(kept.len(), 1);
    let root = rustix::fs::stat("/").unwrap().st_ino;
    assert_eq!(rustix::fs::fstat(&kept[0]).unwrap().st_ino, root);
    // An init that skips them: the runtime names what came instead.
    let (parent, _) = converse(
        |ours| parent::setup(&ours, STATE.into(), false, 1, || Ok(()), || Ok(())),
        |theirs| {
            child::go(&theirs)?;
            child::joined(&theirs)?;
            child::before_pivot(&theirs, false)?;
            child::ready(&theirs)
        },
    );
    assert!(err(parent).contains("expected the kept directories"));
}

#[test]
fn attached_run_starts_over_the_channel() {
    let (parent, child) = converse(
        |ours| {
            parent::setup(&ours, STATE.into(), false, 0, || Ok(()), || Ok(()))?;
            parent::ack(&ours)?;
            parent::start(&ours)?;
            // Poststart hooks wait until the init's end closes (its execve).
            parent::wait_exec(&ours);
            Ok::<_, Error>(())
        },
        |theirs| {
            child::go(&theirs)?;
            child::joined(&theirs)?;
            child::before_pivot(&theirs, false)?;
            child::ready(&theirs)?;
            Ok::<_, Error>(child::start_message(&theirs))
        },
    );
    parent.unwrap();
    assert_eq!(child.unwrap(), child::Wake::Start);
}

#[test]
fn after_ack_the_runtime_may_leave() {
    let (parent, child) = converse(
        |ours| {
            parent::setup(&ours, STATE.into(), false, 0, || Ok(()), || Ok(()))?;
            parent::ack(&ours)
        },
        |theirs| {
            child::go(&theirs)?;
            child::joined(&theirs)?;
            child::before_pivot(&theirs, false)?;
            child::ready(&theirs)?;
            // `vsbx create` exits: the init waits on the exec fifo alone.
            Ok::<_, Error>(child::start_message(&theirs))
        },
    );
    parent.unwrap();
    assert_eq!(child.unwrap(), child::Wake::Closed);
}

#[test]
fn the_hop_reports_the_init_or_why_not() {
    let (pid, ()) = converse(
        |ours| parent::spawned(&ours),
        |theirs| child::spawned(&theirs, Ok(4242)),
    );
    assert_eq!(pid.unwrap(), 4242);
    let (pid, ()) = converse(
        |ours| parent::spawned(&ours),
        |theirs| {
            let e = Error::other("linux.namespaces: joining the user namespace: EPERM");
            child::spawned(&theirs, Err(e))
        },
    );
    assert_eq!(
        err(pid),
        "linux.namespaces: joining the user namespace: EPERM"
    );
    let (pid, ()) = converse(|ours| parent::spawned(&ours), drop);
    assert_eq!(err(pid), INIT_GONE);
}

#[test]
fn exec_goes_after_the_cgroup_join() {
    // It exec'd: its end closed.
    let (parent, child) = converse(
        |ours| parent::release_exec(&ours),
        |theirs| child::exec_go(&theirs),
    );
    assert_eq!(parent.unwrap(), Exec::Running);
    child.unwrap();
    // It failed after the go.
    let (parent, _) = converse(
        |ours| parent::release_exec(&ours),
        |theirs| {
            child::exec_go(&theirs)?;
            let e = Error::other("process.cwd: chdir to /nope: ENOENT");
            child::failed(&theirs, &e);
            Err::<(), _>(e)
        },
    );
    assert_eq!(
        parent.unwrap(),
        Exec::Failed("process.cwd: chdir to /nope: ENOENT".into())
    );
    // The runtime left before the go (its cgroup join failed).
    let (_, child) = converse(drop, |theirs| child::exec_go(&theirs));
    assert_eq!(err(child), RUNTIME_GONE);
}
