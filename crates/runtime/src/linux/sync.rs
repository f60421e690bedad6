//! The one channel between the runtime and the container init: a SOCK_SEQPACKET
//! socketpair, so each message arrives whole. Messages are short byte strings.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::error::{Error, Result};

pub struct Channel {
    fd: OwnedFd,
}

/// What the init tells the runtime.
#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    /// Parent -> init: namespaces mapped, cgroups joined; go on. Carries the
    /// container state JSON for the hooks the init runs.
    Go(String),
    /// Parent -> init: the init is in its cgroups now (the runtime writes cgroup.procs
    /// while the init already sets up its mounts: on cgroup v1 that write can wait for
    /// an RCU grace period, milliseconds better spent in parallel).
    Joined,
    /// Init -> parent: mounts are done; run the prestart and createRuntime hooks.
    Hooks,
    /// Parent -> init: start now (an attached `run`, which needs no exec fifo round trip).
    Start,
    /// Init -> parent: set up, waiting for `start`.
    Ready,
    /// Parent -> init: state written; the runtime may exit now.
    Ack,
    /// Init -> parent: setup failed with this message.
    Failed(String),
    /// Intermediate -> parent: the init was cloned with this pid (see
    /// `container::spawn_init`).
    Spawned(i32),
}

impl Msg {
    fn encode(&self) -> Vec<u8> {
        match self {
            Msg::Go(state) => [b"go:".as_slice(), state.as_bytes()].concat(),
            Msg::Hooks => b"hooks".to_vec(),
            Msg::Start => b"start".to_vec(),
            Msg::Joined => b"joined".to_vec(),
            Msg::Ready => b"ready".to_vec(),
            Msg::Ack => b"ack".to_vec(),
            Msg::Failed(m) => [b"err:".as_slice(), m.as_bytes()].concat(),
            Msg::Spawned(pid) => format!("pid:{pid}").into_bytes(),
        }
    }
    fn decode(b: &[u8]) -> Option<Msg> {
        Some(match b {
            b"hooks" => Msg::Hooks,
            b"start" => Msg::Start,
            b"joined" => Msg::Joined,
            _ if b.starts_with(b"go:") => Msg::Go(String::from_utf8_lossy(&b[3..]).into_owned()),
            b"ready" => Msg::Ready,
            b"ack" => Msg::Ack,
            _ if b.starts_with(b"pid:") => {
                Msg::Spawned(std::str::from_utf8(&b[4..]).ok()?.parse().ok()?)
            }
            _ => Msg::Failed(String::from_utf8_lossy(b.strip_prefix(b"err:")?).into_owned()),
        })
    }
}

impl Channel {
    /// A connected pair (both ends close-on-exec).
    pub fn pair() -> Result<(Channel, Channel)> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: fds is a valid array of two ints for the kernel to fill.
        let rc = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(Error::os("socketpair", std::io::Error::last_os_error()));
        }
        // SAFETY: the kernel just gave us these two fds; we own them.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Msg) -> Result<()> {
        let b = msg.encode();
        // SAFETY: b is a live buffer of b.len() bytes.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                b.as_ptr().cast(),
                b.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            // The other end is gone: it may have said why before it left (an init that
            // failed sends `Failed` and exits without reading what was sent to it).
            if let Ok(Some(Msg::Failed(m))) = self.recv_with(libc::MSG_DONTWAIT) {
                return Err(Error::other(m));
            }
            return Err(Error::os("sync channel: send", e));
        }
        Ok(())
    }

    /// Receives one message; None when the other end closed (it died or exited).
    pub fn recv(&self) -> Result<Option<Msg>> {
        self.recv_with(0)
    }

    fn recv_with(&self, flags: libc::c_int) -> Result<Option<Msg>> {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: buf is a live, writable buffer of buf.len() bytes.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // The other end closed with our messages unread: the kernel reports
                // ECONNRESET once (and clears it) before the messages it did send, which
                // the next call returns.
                if e.raw_os_error() == Some(libc::ECONNRESET) {
                    continue;
                }
                return Err(Error::os("sync channel: receive", e));
            }
            if n == 0 {
                return Ok(None);
            }
            let got = &buf[..n as usize];
            return Msg::decode(got).map(Some).ok_or_else(|| {
                Error::other(format!(
                    "sync channel: unexpected message {:?}",
                    String::from_utf8_lossy(got)
                ))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let (a, b) = Channel::pair().unwrap();
        a.send(&Msg::Go("{}".into())).unwrap();
        a.send(&Msg::Failed("mount /proc: EPERM".into())).unwrap();
        a.send(&Msg::Spawned(4242)).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Msg::Go("{}".into())));
        assert_eq!(
            b.recv().unwrap(),
            Some(Msg::Failed("mount /proc: EPERM".into()))
        );
        assert_eq!(b.recv().unwrap(), Some(Msg::Spawned(4242)));
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }

    #[test]
    fn a_send_to_a_peer_that_failed_and_left_reports_its_failure() {
        let (a, b) = Channel::pair().unwrap();
        a.send(&Msg::Failed("mounts[0]: refused".into())).unwrap();
        drop(a);
        let err = b.send(&Msg::Joined).unwrap_err();
        assert_eq!(err.to_string(), "mounts[0]: refused");
        // A peer that left without a word: the send error itself.
        let (c, d) = Channel::pair().unwrap();
        drop(c);
        let err = d.send(&Msg::Joined).unwrap_err().to_string();
        assert!(err.starts_with("sync channel: send"), "{err}");
    }

    #[test]
    fn a_peer_that_left_with_our_message_unread_is_still_heard() {
        let (a, b) = Channel::pair().unwrap();
        b.send(&Msg::Joined).unwrap();
        a.send(&Msg::Failed("setup failed".into())).unwrap();
        drop(a); // leaves `Joined` unread: b gets ECONNRESET first
        assert_eq!(b.recv().unwrap(), Some(Msg::Failed("setup failed".into())));
        assert_eq!(b.recv().unwrap(), None);
    }
}
