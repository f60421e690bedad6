//! Terminals: the init opens a pty inside the container's devpts, sends the master to
//! the engine over --console-socket (SCM_RIGHTS, with the pty's name as the payload,
//! as runc does) and makes the slave its controlling terminal and stdio.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use crate::error::{Context, Error, Result};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    pub name: String,
}

/// Opens a new pty pair from /dev/ptmx (the container's, after pivot_root).
pub fn open_pty(rows: u16, cols: u16) -> Result<Pty> {
    let master = rustix::fs::open(
        "/dev/ptmx",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::os("opening /dev/ptmx", e.into()))?;
    // TIOCSPTLCK(0), then TIOCGPTN.
    let name = rustix::pty::unlockpt(&master)
        .and_then(|()| rustix::pty::ptsname(&master, Vec::new()))
        .map_err(|e| Error::os("unlocking the pty", e.into()))?;
    // TIOCGPTPEER opens the peer without a path lookup.
    let slave = rustix::pty::ioctl_tiocgptpeer(
        &master,
        OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
    )
    .map_err(|e| Error::os("opening the pty slave", e.into()))?;
    if rows > 0 || cols > 0 {
        set_size(&master, rows, cols)?;
    }
    Ok(Pty {
        master,
        slave,
        name: name.to_string_lossy().into_owned(),
    })
}

pub fn set_size(fd: &OwnedFd, rows: u16, cols: u16) -> Result<()> {
    let ws = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // TIOCSWINSZ.
    rustix::termios::tcsetwinsize(fd, ws)
        .map_err(|e| Error::os("setting the console size", e.into()))
}

/// Sends `fd` over the unix socket `sock` with `name` as the message body.
pub fn send_fd(sock: RawFd, fd: RawFd, name: &str) -> Result<()> {
    let iov = [IoSlice::new(name.as_bytes())];
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None)
        .ctx(|| "sending the pty master to the console socket".into())?;
    Ok(())
}

/// Receives one fd sent with `send_fd`.
pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .ctx(|| "receiving the pty master".into())?;
    for c in msg
        .cmsgs()
        .map_err(|e| Error::errno("reading the control message", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // nix 0.29 hands SCM_RIGHTS fds over as raw numbers.
                // SAFETY: the kernel installed this fd in our table for this message, so
                // nothing else owns it; MSG_CMSG_CLOEXEC made it close-on-exec.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(Error::other("console socket: no file descriptor received"))
}

/// Makes `slave` the controlling terminal and stdin/stdout/stderr of this process.
pub fn become_session_leader_on(slave: &OwnedFd) -> Result<()> {
    nix::unistd::setsid().ctx(|| "setsid".into())?;
    // TIOCSCTTY with argument 0: never steal a terminal from another session.
    rustix::process::ioctl_tiocsctty(slave)
        .map_err(|e| Error::os("making the pty the controlling terminal", e.into()))?;
    for target in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), target)
            .map_err(|e| Error::os("dup2 of the pty slave", e.into()))?;
    }
    Ok(())
}

/// Gives this process a new pty as its controlling terminal and stdio, and sends the
/// master to the engine over `sock`. Returns the pty's name (/dev/pts/N).
pub fn attach_new_pty(sock: RawFd, size: Option<&oci_spec::runtime::Box>) -> Result<String> {
    let (rows, cols) = size
        .map(|b| (b.height() as u16, b.width() as u16))
        .unwrap_or((0, 0));
    let pty = open_pty(rows, cols)?;
    send_fd(sock, pty.master.as_raw_fd(), &pty.name)?;
    drop(pty.master);
    become_session_leader_on(&pty.slave)?;
    Ok(pty.name)
}
