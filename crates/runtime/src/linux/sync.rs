//! The one channel between the runtime and the container init: a SOCK_SEQPACKET
//! socketpair, so each message arrives whole. Messages are short byte strings.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

use crate::error::{Error, Result};

/// The largest message either side sends or accepts (the biggest is `Go`, the container's
/// state JSON with its annotations). A datagram over it is refused by name, never cut.
const MAX_MESSAGE: usize = 128 << 10;

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
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| Error::os("socketpair", e.into()))?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    /// The socket, to wait on it with poll.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    pub fn send(&self, msg: &Msg) -> Result<()> {
        let b = msg.encode();
        if b.len() > MAX_MESSAGE {
            return Err(Error::other(format!(
                "sync channel: a message of {} bytes is over the {MAX_MESSAGE}-byte limit",
                b.len()
            )));
        }
        if let Err(e) = send(self.fd.as_raw_fd(), &b, MsgFlags::MSG_NOSIGNAL) {
            // The other end is gone: it may have said why before it left (an init that
            // failed sends `Failed` and exits without reading what was sent to it).
            if let Ok(Some(Msg::Failed(m))) = self.recv_with(MsgFlags::MSG_DONTWAIT) {
                return Err(Error::other(m));
            }
            return Err(Error::os("sync channel: send", e.into()));
        }
        Ok(())
    }

    /// Receives one message; None when the other end closed (it died or exited).
    pub fn recv(&self) -> Result<Option<Msg>> {
        self.recv_with(MsgFlags::empty())
    }

    fn recv_with(&self, flags: MsgFlags) -> Result<Option<Msg>> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            // MSG_TRUNC: the length of the whole message, even where it did not fit.
            match recv(self.fd.as_raw_fd(), &mut buf, flags | MsgFlags::MSG_TRUNC) {
                Err(Errno::EINTR) => continue,
                // The other end closed with our messages unread: the kernel reports
                // ECONNRESET once (and clears it) before the messages it did send, which
                // the next call returns.
                Err(Errno::ECONNRESET) => continue,
                Err(e) => return Err(Error::os("sync channel: receive", e.into())),
                Ok(0) => return Ok(None),
                Ok(n) if n > buf.len() => {
                    return Err(Error::other(format!(
                        "sync channel: a message of {n} bytes is over the {MAX_MESSAGE}-byte limit"
                    )))
                }
                Ok(n) => {
                    let got = &buf[..n];
                    return Msg::decode(got).map(Some).ok_or_else(|| {
                        Error::other(format!(
                            "sync channel: unexpected message {:?}",
                            String::from_utf8_lossy(got)
                        ))
                    });
                }
            }
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
    fn oversized_messages_are_refused_not_cut() {
        let (a, b) = Channel::pair().unwrap();
        let big = Msg::Go("x".repeat(MAX_MESSAGE));
        let err = a.send(&big).unwrap_err().to_string();
        assert!(err.contains("over the"), "{err}");
        // A peer that does not check: the receiver still sees the real size.
        let raw = [b"go:".as_slice(), &vec![b'y'; MAX_MESSAGE]].concat();
        nix::sys::socket::send(a.fd.as_raw_fd(), &raw, MsgFlags::empty()).unwrap();
        let err = b.recv().unwrap_err().to_string();
        assert!(err.contains(&format!("{} bytes", raw.len())), "{err}");
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
