// A static probe for the sandbox tests: reads probe names (one per line) on stdin, tries
// each forbidden operation with a raw system call, and prints `NAME: ok` or
// `NAME: ERRNONAME` per probe. Built by the rust runner (static glibc), so it runs under
// every profile, minimal included. No crates: libc's functions are declared here.
use std::io::{BufRead, Write};

extern "C" {
    fn syscall(n: i64, ...) -> i64;
    fn __errno_location() -> *mut i32;
}

fn errno_name(e: i32) -> String {
    match e {
        1 => "EPERM".into(),
        2 => "ENOENT".into(),
        9 => "EBADF".into(),
        11 => "EAGAIN".into(),
        13 => "EACCES".into(),
        14 => "EFAULT".into(),
        22 => "EINVAL".into(),
        30 => "EROFS".into(),
        38 => "ENOSYS".into(),
        97 => "EAFNOSUPPORT".into(),
        101 => "ENETUNREACH".into(),
        111 => "ECONNREFUSED".into(),
        n => format!("E{n}"),
    }
}

/// Runs a raw syscall; Ok(return value) or Err(errno name).
fn sys(n: i64, a: [i64; 6]) -> Result<i64, String> {
    // SAFETY: the probes pass scalar arguments or pointers to live buffers.
    let r = unsafe { syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r < 0 {
        Err(errno_name(unsafe { *__errno_location() }))
    } else {
        Ok(r)
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

// x86_64 numbers
const SYS_CLOSE: i64 = 3;
const SYS_SOCKET: i64 = 41;
const SYS_CONNECT: i64 = 42;
const SYS_SETUID: i64 = 105;
const SYS_PTRACE: i64 = 101;
const SYS_MOUNT: i64 = 165;
const SYS_UNSHARE: i64 = 272;
const SYS_OPENAT: i64 = 257;
const SYS_KEYCTL: i64 = 250;
const SYS_BPF: i64 = 321;
const AT_FDCWD: i64 = -100;

fn open(path: &str, flags: i64) -> Result<i64, String> {
    let p = cstr(path);
    let fd = sys(
        SYS_OPENAT,
        [AT_FDCWD, p.as_ptr() as i64, flags, 0o644, 0, 0],
    )?;
    let _ = sys(SYS_CLOSE, [fd, 0, 0, 0, 0, 0]);
    Ok(fd)
}

/// TCP connect to addr:port (AF_INET); Err is socket's or connect's errno.
fn connect(addr: [u8; 4], port: u16) -> Result<i64, String> {
    let fd = sys(SYS_SOCKET, [2, 1, 0, 0, 0, 0])?; // AF_INET, SOCK_STREAM
    let mut sa = [0u8; 16];
    sa[0] = 2; // sin_family = AF_INET (little endian)
    sa[2..4].copy_from_slice(&port.to_be_bytes());
    sa[4..8].copy_from_slice(&addr);
    let r = sys(SYS_CONNECT, [fd, sa.as_ptr() as i64, 16, 0, 0, 0]);
    let _ = sys(SYS_CLOSE, [fd, 0, 0, 0, 0, 0]);
    r
}

fn probe(name: &str) -> Result<i64, String> {
    match name {
        // 127.0.0.1:9, where nothing listens: ECONNREFUSED if IP sockets work at all
        "connect" => connect([127, 0, 0, 1], 9),
        // TEST-NET-1: ENETUNREACH in a namespace that has only lo
        "connect_external" => connect([192, 0, 2, 1], 80),
        // O_WRONLY|O_CREAT|O_TRUNC of a new file in the (read-only) root and in /etc
        "create_root" => open("/vsbx-probe", 0o1 | 0o100 | 0o1000),
        "create_etc" => open("/etc/vsbx-probe", 0o1 | 0o100 | 0o1000),
        // O_WRONLY of an existing file (no O_CREAT: minimal allows that openat)
        "write_etc_passwd" => open("/etc/passwd", 0o1),
        "create_tmp" => open("/tmp/vsbx-probe", 0o1 | 0o100 | 0o1000),
        "read_etc_shadow" => open("/etc/shadow", 0),
        "read_root_home" => open("/root", 0o200000), // O_DIRECTORY
        "mount" => {
            let (s, d, t) = (cstr("none"), cstr("/tmp"), cstr("tmpfs"));
            sys(
                SYS_MOUNT,
                [
                    s.as_ptr() as i64,
                    d.as_ptr() as i64,
                    t.as_ptr() as i64,
                    0,
                    0,
                    0,
                ],
            )
        }
        "ptrace" => sys(SYS_PTRACE, [0, 0, 0, 0, 0, 0]), // PTRACE_TRACEME
        "unshare" => sys(SYS_UNSHARE, [0x10000000, 0, 0, 0, 0, 0]), // CLONE_NEWUSER
        "unshare_net" => sys(SYS_UNSHARE, [0x40000000, 0, 0, 0, 0, 0]), // CLONE_NEWNET
        "keyctl" => sys(SYS_KEYCTL, [0, -3, 0, 0, 0, 0]), // GET_KEYRING_ID(session)
        "bpf" => {
            let attr = [0u8; 128];
            sys(SYS_BPF, [0, attr.as_ptr() as i64, 128, 0, 0, 0]) // BPF_MAP_CREATE
        }
        "setuid" => sys(SYS_SETUID, [0, 0, 0, 0, 0, 0]),
        _ => Err(format!("unknown probe {name}")),
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let name = line.expect("stdin");
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match probe(name) {
            Ok(_) => writeln!(out, "{name}: ok").unwrap(),
            Err(e) => writeln!(out, "{name}: {e}").unwrap(),
        }
    }
    writeln!(out, "probe: done").unwrap();
}
