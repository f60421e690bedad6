//! The cgroup v2 device program against the kernel's own v1 device controller.
//!
//! This host mounts cgroup2 (at /sys/fs/cgroup/unified, without controllers) next to
//! the v1 hierarchies, and eBPF device programs work on any cgroup2 directory. For
//! each rule list the test attaches the compiled program to a fresh cgroup2 directory,
//! writes the same rules to a fresh v1 devices cgroup, and has a child in each open
//! and mknod real device nodes: the two controllers must agree with each other and
//! with `State::allows` on every probe. Needs root (CAP_SYS_ADMIN, CAP_MKNOD).

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use vsbx_runtime::fuzz_api::devices::{self, Kind, Rule, State, MKNOD, READ, WRITE};
use vsbx_runtime::fuzz_api::find_mount;

/// A device node to probe: type, major, minor. None of these has side effects on open.
const DEVICES: &[(Kind, u32, u32)] = &[
    (Kind::Char, 1, 3),    // null
    (Kind::Char, 1, 5),    // zero
    (Kind::Char, 1, 9),    // urandom
    (Kind::Char, 5, 0),    // tty
    (Kind::Char, 10, 200), // net/tun
    (Kind::Char, 136, 4),  // a pty slave that does not exist
    (Kind::Block, 7, 0),   // loop0
];

/// Accesses per device: open read-only, write-only, read-write, and mknod.
const ACCESSES: &[u8] = &[READ, WRITE, READ | WRITE, MKNOD];

/// The S_IF* bits of a node of this kind, for mknod.
fn file_type(kind: Kind) -> libc::mode_t {
    match kind {
        Kind::Block => libc::S_IFBLK,
        Kind::Char => libc::S_IFCHR,
    }
}

struct Probe {
    /// Existing nodes, one per DEVICES entry.
    nodes: Vec<CString>,
    /// Where mknod probes create (and remove) a node.
    scratch: CString,
}

impl Probe {
    fn new(dir: &Path) -> Probe {
        let mut nodes = Vec::new();
        for (i, (kind, maj, min)) in DEVICES.iter().enumerate() {
            let p = CString::new(dir.join(format!("n{i}")).as_os_str().as_bytes()).unwrap();
            let mode = file_type(*kind) | 0o666;
            // SAFETY: p is a valid C string; mknod has no memory effects.
            let r = unsafe { libc::mknod(p.as_ptr(), mode, libc::makedev(*maj, *min)) };
            assert_eq!(r, 0, "mknod {p:?}: {}", std::io::Error::last_os_error());
            nodes.push(p);
        }
        let scratch = CString::new(dir.join("m").as_os_str().as_bytes()).unwrap();
        Probe { nodes, scratch }
    }

    /// Runs every probe in a child placed in `cgroup` (its cgroup.procs); returns
    /// allowed/denied per (device, access), denied meaning EPERM.
    fn run_in(&self, cgroup: &Path) -> Vec<bool> {
        let procs = CString::new(cgroup.join("cgroup.procs").as_os_str().as_bytes()).unwrap();
        let n = DEVICES.len() * ACCESSES.len();
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let mut out = vec![0u8; n];
        // SAFETY: the child only makes raw system calls on memory prepared before the
        // fork (no allocation, no locks) and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: in the forked child: raw system calls on C strings and buffers made
            // before the fork (`procs`, `self.scratch`, `self.nodes`, `out`), then _exit.
            unsafe {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    libc::_exit(2);
                }
                libc::close(fd);
                let mut k = 0;
                for (i, (kind, maj, min)) in DEVICES.iter().enumerate() {
                    for acc in ACCESSES {
                        let r = if *acc == MKNOD {
                            let mode = file_type(*kind) | 0o600;
                            let r =
                                libc::mknod(self.scratch.as_ptr(), mode, libc::makedev(*maj, *min));
                            if r == 0 {
                                libc::unlink(self.scratch.as_ptr());
                            }
                            r
                        } else {
                            let flags = match *acc {
                                READ => libc::O_RDONLY,
                                WRITE => libc::O_WRONLY,
                                _ => libc::O_RDWR,
                            };
                            let fd = libc::open(
                                self.nodes[i].as_ptr(),
                                flags | libc::O_NONBLOCK | libc::O_NOCTTY,
                            );
                            if fd >= 0 {
                                libc::close(fd);
                            }
                            fd
                        };
                        let denied = r < 0 && *libc::__errno_location() == libc::EPERM;
                        out[k] = if denied { b'0' } else { b'1' };
                        k += 1;
                    }
                }
                libc::write(fds[1], out.as_ptr().cast(), n);
                libc::_exit(0);
            }
        }
        // SAFETY: closing our copy of the write end; reading into `out` of length n.
        unsafe { libc::close(fds[1]) };
        // SAFETY: `out` is a live buffer of n bytes and fds[0] our read end.
        let got = unsafe { libc::read(fds[0], out.as_mut_ptr().cast(), n) };
        // SAFETY: closing our read end, not used again.
        unsafe { libc::close(fds[0]) };
        let mut status = 0;
        // SAFETY: pid is our child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "probe child in {} failed: status {status:#x}",
            cgroup.display()
        );
        assert_eq!(got, n as isize);
        out.iter().map(|b| *b == b'1').collect()
    }
}

fn expected(state: &State) -> Vec<bool> {
    DEVICES
        .iter()
        .flat_map(|(kind, maj, min)| {
            ACCESSES
                .iter()
                .map(move |a| state.allows(*kind, *maj, *min, *a))
        })
        .collect()
}

fn describe(v: &[bool]) -> String {
    v.chunks(ACCESSES.len())
        .zip(DEVICES)
        .map(|(c, (k, maj, min))| {
            let bits: String = c.iter().map(|b| if *b { '+' } else { '-' }).collect();
            format!("{k:?} {maj}:{min} r/w/rw/m {bits}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A cgroup directory removed on drop (the probe child has exited by then).
struct Cgroup(PathBuf);
impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

#[test]
fn v2_program_allows_exactly_what_v1_allows() {
    let v2 = find_mount("cgroup2", None).expect("this test needs a cgroup2 mount");
    let v1 = find_mount("cgroup", Some("devices"));
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let probe = Probe::new(tmp.path());

    let lists: &[&[(bool, &str)]] = &[
        // what runc, podman and Docker write: deny all, then the defaults
        &[(false, "a")],
        // allow all but writes to 1:* and mknod of block devices
        &[(false, "c 1:* w"), (false, "b *:* m")],
        // deny all; rw on 1:3, but w taken back; reads of every block device
        &[
            (false, "a"),
            (true, "c 1:3 rw"),
            (false, "c 1:3 w"),
            (true, "b *:* r"),
        ],
        // allow-all with an exception that a later allow narrows
        &[(false, "c 1:* rw"), (true, "c 1:* w")],
        // deny all, allow only mknod of 10:200 and reads of 136:*
        &[(false, "a"), (true, "c 10:200 m"), (true, "c 136:* r")],
    ];
    let defaults = devices::DEFAULT_ALLOWED;
    let mut restricted = 0;
    for (n, list) in lists.iter().enumerate() {
        for with_defaults in [false, true] {
            let mut rules: Vec<Rule> = list
                .iter()
                .map(|(a, l)| Rule::parse(*a, l).unwrap())
                .collect();
            if with_defaults {
                rules.extend_from_slice(defaults);
            }
            let state = State::from_rules(&rules);
            let want = expected(&state);
            restricted += want.iter().filter(|a| !**a).count();

            let name = format!("vsbx-devtest-{}-{n}-{with_defaults}", std::process::id());
            let dir = Cgroup(v2.join(&name));
            fs::create_dir(&dir.0).unwrap();
            devices::apply(&dir.0, true, &rules).unwrap();
            let got_v2 = probe.run_in(&dir.0);
            assert_eq!(
                describe(&got_v2),
                describe(&want),
                "v2 program for {list:?} (defaults: {with_defaults})"
            );

            if let Some(v1) = &v1 {
                let dir = Cgroup(v1.join(&name));
                fs::create_dir(&dir.0).unwrap();
                devices::apply(&dir.0, false, &rules).unwrap();
                let got_v1 = probe.run_in(&dir.0);
                assert_eq!(
                    describe(&got_v1),
                    describe(&want),
                    "v1 controller for {list:?} (defaults: {with_defaults})"
                );
            }
        }
    }
    // The lists must actually deny things, or the comparison proves little.
    assert!(restricted > 50, "only {restricted} denials expected");
}

#[test]
fn a_program_on_a_parent_still_applies_to_its_children() {
    let v2 = find_mount("cgroup2", None).expect("this test needs a cgroup2 mount");
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let probe = Probe::new(tmp.path());
    let parent = Cgroup(v2.join(format!("vsbx-devtest-parent-{}", std::process::id())));
    fs::create_dir(&parent.0).unwrap();
    devices::apply(&parent.0, true, &[Rule::parse(false, "c 1:5 rwm").unwrap()]).unwrap();
    let child = Cgroup(parent.0.join("c"));
    fs::create_dir(&child.0).unwrap();
    // The child's own program allows all of 1:*; the parent's denial of 1:5 must hold.
    let rules = [
        Rule::parse(false, "a").unwrap(),
        Rule::parse(true, "c 1:* rwm").unwrap(),
    ];
    devices::apply(&child.0, true, &rules).unwrap();
    let got = probe.run_in(&child.0);
    let row = |i: usize| &got[i * ACCESSES.len()..(i + 1) * ACCESSES.len()];
    assert_eq!(row(0), [true; 4], "1:3 allowed by both");
    assert_eq!(row(1), [false; 4], "1:5 denied by the parent");
    assert_eq!(row(3), [false; 4], "5:0 denied by the child");
    drop(child);
}
