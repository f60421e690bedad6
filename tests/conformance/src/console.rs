//! A `--console-socket` receiver and a pty reader.

use crate::{POLL, TIMEOUT};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `--console-socket` listener: a thread accepts one connection and receives the pty master
/// sent with SCM_RIGHTS.
pub struct ConsoleSocket {
    path: PathBuf,
    rx: mpsc::Receiver<io::Result<File>>,
}

impl ConsoleSocket {
    pub fn new(dir: &Path) -> ConsoleSocket {
        let path = dir.join("console.sock");
        let listener = UnixListener::bind(&path).expect("bind console socket");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let deadline = Instant::now() + TIMEOUT;
            let result = loop {
                match listener.accept() {
                    Ok((stream, _)) => break recv_fd(stream.as_raw_fd()),
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline =>
                    {
                        std::thread::sleep(POLL)
                    }
                    Err(e) => break Err(e),
                }
            };
            let _ = tx.send(result);
        });
        ConsoleSocket { path, rx }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pty master the runtime sent.
    #[track_caller]
    pub fn master(&self) -> File {
        match self.rx.recv_timeout(TIMEOUT + Duration::from_secs(1)) {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => panic!("receiving the console fd failed: {e}"),
            Err(_) => panic!("the runtime never sent a console fd"),
        }
    }
}

/// Receives one fd passed with SCM_RIGHTS on a connected unix stream socket.
fn recv_fd(sock: RawFd) -> io::Result<File> {
    // Make the accepted stream blocking again (it inherits nothing from the listener on Linux,
    // but be explicit), with a receive timeout so a silent runtime cannot hang the test.
    let tv = libc::timeval {
        tv_sec: TIMEOUT.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: plain syscalls on a valid fd with correctly sized arguments.
    unsafe {
        let flags = libc::fcntl(sock, libc::F_GETFL);
        libc::fcntl(sock, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        libc::setsockopt(
            sock,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 32];
    // SAFETY: msghdr is plain data; all-zero is a valid initial value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg points at live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: walking the control messages the kernel filled in, with the libc CMSG macros.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const RawFd);
                return Ok(File::from_raw_fd(fd));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "no SCM_RIGHTS fd in the console message",
    ))
}

/// Reads a pty master until the slave side is closed everywhere (EIO) or EOF; fails the test
/// after [`TIMEOUT`].
#[track_caller]
pub fn read_pty(master: File) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut master = master;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break, // EIO: no slave left open
            }
        }
        let _ = tx.send(String::from_utf8_lossy(&out).into_owned());
    });
    rx.recv_timeout(TIMEOUT)
        .expect("the container's terminal output never ended")
}
