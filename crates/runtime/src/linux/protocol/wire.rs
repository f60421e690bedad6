//! The messages and their framing: one SOCK_SEQPACKET socketpair, so each message
//! arrives whole. Messages are short byte strings; the wire tags are in [`Msg`].

use std::borrow::Cow;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    recv, recvmsg, send, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType,
};

use crate::error::{Error, Result};

/// The largest message either side sends or accepts (the biggest is `State`, the
/// container's state JSON with its annotations). A datagram over it is refused by name,
/// never cut. Kept under glibc's mmap threshold (128 KiB), so that the receive buffer comes
/// from the heap instead of an mmap/munmap pair per message.
pub(super) const MAX_MESSAGE: usize = 120 << 10;

/// One end of the channel between the runtime and the container init (or the exec'd
/// process). Only [`super`] speaks on it: the conversation is written down there.
pub struct Channel {
    fd: OwnedFd,
}

/// The tag of the message that carries descriptors (SCM_RIGHTS), init -> runtime: the
/// directories the caller asked to keep (`CreateOptions::keep_dirs`), opened in the
/// container. It is not a [`Msg`]: it is sent and received only by `send_kept`/`recv_kept`.
const KEPT: &[u8] = b"kept";
/// The most descriptors one `kept` carries.
pub(super) const MAX_KEPT: usize = 8;

/// One message of the conversation, each with one meaning. On the wire (left) three of
/// them share the tag `go:`; the receiver always knows which one it waits for (see
/// [`Msg::decode`]), so they need no tags of their own.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Msg {
    /// `pid:<n>`, intermediate -> runtime: the init was cloned with this pid (the hop
    /// of a joined user namespace).
    Spawned(i32),
    /// `go:<json>`, runtime -> init: ids mapped; the container's state JSON, for the
    /// hooks the init runs.
    State(String),
    /// `joined`, runtime -> init: the init is in its cgroups now.
    Joined,
    /// `hooks`, init -> runtime: mounts done; run the prestart and createRuntime hooks.
    Hooks,
    /// `go:`, runtime -> init: the prestart and createRuntime hooks ran.
    HooksDone,
    /// `ready`, init -> runtime: set up, waiting for `start`.
    Ready,
    /// `ack`, runtime -> init: state written; the runtime may exit now.
    Ack,
    /// `start`, runtime -> init: start now (an attached `run`: no exec fifo round trip).
    Start,
    /// `go:`, runtime -> exec'd process: it is in the container's cgroups; go on.
    ExecGo,
    /// `err:<message>`, init (or intermediate, or exec'd process) -> runtime: setup
    /// failed with this message; the sender exits.
    Failed(String),
}

/// What a message is, without its payload: what a step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Spawned,
    State,
    Joined,
    Hooks,
    HooksDone,
    Ready,
    Ack,
    Start,
    ExecGo,
    Failed,
}

impl Kind {
    /// How errors name it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Spawned => "the init's pid",
            Kind::State => "go (the state for the hooks)",
            Kind::Joined => "joined (the cgroup join)",
            Kind::Hooks => "hooks (a request to run the prestart and createRuntime hooks)",
            Kind::HooksDone => "go (the hooks ran)",
            Kind::Ready => "ready",
            Kind::Ack => "ack",
            Kind::Start => "start",
            Kind::ExecGo => "go (the cgroup join)",
            Kind::Failed => "a failure",
        }
    }

    /// Sent by the container's side (init, intermediate, exec'd process), not the runtime.
    pub(super) fn sent_by_container(self) -> bool {
        matches!(
            self,
            Kind::Spawned | Kind::Hooks | Kind::Ready | Kind::Failed
        )
    }
}

impl Msg {
    pub(super) fn kind(&self) -> Kind {
        match self {
            Msg::Spawned(_) => Kind::Spawned,
            Msg::State(_) => Kind::State,
            Msg::Joined => Kind::Joined,
            Msg::Hooks => Kind::Hooks,
            Msg::HooksDone => Kind::HooksDone,
            Msg::Ready => Kind::Ready,
            Msg::Ack => Kind::Ack,
            Msg::Start => Kind::Start,
            Msg::ExecGo => Kind::ExecGo,
            Msg::Failed(_) => Kind::Failed,
        }
    }

    fn encode(&self) -> Cow<'_, [u8]> {
        match self {
            Msg::Spawned(pid) => Cow::Owned(format!("pid:{pid}").into_bytes()),
            Msg::State(state) => Cow::Owned([b"go:".as_slice(), state.as_bytes()].concat()),
            Msg::Joined => Cow::Borrowed(b"joined"),
            Msg::Hooks => Cow::Borrowed(b"hooks"),
            Msg::HooksDone | Msg::ExecGo => Cow::Borrowed(b"go:"),
            Msg::Ready => Cow::Borrowed(b"ready"),
            Msg::Ack => Cow::Borrowed(b"ack"),
            Msg::Start => Cow::Borrowed(b"start"),
            Msg::Failed(m) => Cow::Owned([b"err:".as_slice(), m.as_bytes()].concat()),
        }
    }

    /// A bare `go:` is whichever of `HooksDone` and `ExecGo` the receiver waits for
    /// (`want`); any other `go:` is `State`.
    fn decode(b: &[u8], want: Kind) -> Option<Msg> {
        Some(match b {
            b"hooks" => Msg::Hooks,
            b"start" => Msg::Start,
            b"joined" => Msg::Joined,
            b"go:" if want == Kind::HooksDone => Msg::HooksDone,
            b"go:" if want == Kind::ExecGo => Msg::ExecGo,
            _ if b.starts_with(b"go:") => Msg::State(String::from_utf8_lossy(&b[3..]).into_owned()),
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

    /// The socket, to wait on it with poll.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    pub(super) fn send(&self, msg: &Msg) -> Result<()> {
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
            if let Ok(Some(Msg::Failed(m))) = self.recv_with(MsgFlags::MSG_DONTWAIT, Kind::Failed) {
                return Err(Error::other(m));
            }
            return Err(Error::os("sync channel: send", e.into()));
        }
        Ok(())
    }

    /// Sends `kept` with `fds` attached.
    pub(super) fn send_kept(&self, fds: &[BorrowedFd<'_>]) -> Result<()> {
        if fds.len() > MAX_KEPT {
            return Err(Error::other(format!(
                "sync channel: {} descriptors to keep, at most {MAX_KEPT}",
                fds.len()
            )));
        }
        let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let iov = [IoSlice::new(KEPT)];
        let cmsg = [ControlMessage::ScmRights(&raw)];
        sendmsg::<()>(
            self.fd.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(|e| Error::os("sync channel: send", e.into()))?;
        Ok(())
    }

    /// Receives `kept` and the descriptors it carries (close-on-exec); the other side's
    /// `err:` is the error, anything else is named; None when the other end closed.
    pub(super) fn recv_kept(&self) -> Result<Option<Vec<OwnedFd>>> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            let mut space = nix::cmsg_space!([RawFd; MAX_KEPT]);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(Errno::EINTR | Errno::ECONNRESET) => continue,
                Err(e) => return Err(Error::os("sync channel: receive", e.into())),
                Ok(m) => m,
            };
            let mut fds = Vec::new();
            for c in msg
                .cmsgs()
                .map_err(|e| Error::os("sync channel: receive", e.into()))?
            {
                if let ControlMessageOwned::ScmRights(got) = c {
                    // SAFETY: SCM_RIGHTS installed these as new descriptors of this
                    // process; nothing else owns them.
                    fds.extend(
                        got.into_iter()
                            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                    );
                }
            }
            let n = msg.bytes;
            let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
            let got = &buf[..n];
            return match got {
                [] => Ok(None),
                _ if got == KEPT && !truncated => Ok(Some(fds)),
                _ if got == KEPT => Err(Error::other(format!(
                    "sync channel: more than {MAX_KEPT} descriptors kept"
                ))),
                _ => match Msg::decode(got, Kind::Failed) {
                    Some(Msg::Failed(m)) => Err(Error::other(m)),
                    _ => Err(Error::other(format!(
                        "expected the kept directories from the container init, got {:?}",
                        String::from_utf8_lossy(got)
                    ))),
                },
            };
        }
    }

    /// Receives one message, read as a step waiting for `want` reads it; None when the
    /// other end closed (it died or exited).
    pub(super) fn recv(&self, want: Kind) -> Result<Option<Msg>> {
        self.recv_with(MsgFlags::empty(), want)
    }

    fn recv_with(&self, flags: MsgFlags, want: Kind) -> Result<Option<Msg>> {
        // Most messages are a few bytes: a buffer of MAX_MESSAGE for each (zeroed) cost more
        // than the rest of the receive. So the next message's length is peeked first
        // (MSG_TRUNC: the whole length, though nothing fits), then it is read into a buffer
        // of that size.
        let mut buf = Vec::new();
        loop {
            let peek = flags | MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC;
            let len = match recv(self.fd.as_raw_fd(), &mut [], peek) {
                Err(Errno::EINTR | Errno::ECONNRESET) => continue,
                Err(e) => return Err(Error::os("sync channel: receive", e.into())),
                Ok(n) => n,
            };
            buf.resize(len.clamp(1, MAX_MESSAGE), 0);
            // MSG_TRUNC: the length of the whole message, even where it did not fit.
            match recv(self.fd.as_raw_fd(), &mut buf, flags | MsgFlags::MSG_TRUNC) {
                Err(Errno::EINTR) => continue,
                // The other end closed with our messages unread: the kernel reports
                // ECONNRESET once (and clears it) before the messages it did send, which
                // the next call returns.
                Err(Errno::ECONNRESET) => continue,
                Err(e) => return Err(Error::os("sync channel: receive", e.into())),
                Ok(0) => return Ok(None),
                Ok(n) if n > MAX_MESSAGE => {
                    return Err(Error::other(format!(
                        "sync channel: a message of {n} bytes is over the {MAX_MESSAGE}-byte limit"
                    )))
                }
                // Only this end reads: the message cannot have grown since the peek.
                Ok(n) if n > buf.len() => {
                    return Err(Error::other(format!(
                        "sync channel: a message of {n} bytes, peeked as {}",
                        buf.len()
                    )))
                }
                Ok(n) => {
                    let got = &buf[..n];
                    return Msg::decode(got, want).map(Some).ok_or_else(|| {
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
        let all = [
            Msg::Spawned(4242),
            Msg::State("{}".into()),
            Msg::Joined,
            Msg::Hooks,
            Msg::HooksDone,
            Msg::Ready,
            Msg::Ack,
            Msg::Start,
            Msg::ExecGo,
            Msg::Failed("mount /proc: EPERM".into()),
        ];
        for m in &all {
            a.send(m).unwrap();
        }
        for m in all {
            assert_eq!(b.recv(m.kind()).unwrap(), Some(m));
        }
        drop(a);
        assert_eq!(b.recv(Kind::Ready).unwrap(), None);
    }

    #[test]
    fn the_wire_is_what_it_was() {
        // The bytes of each message, as before the protocol module (one `go:` tag for
        // three meanings): the sequence and sizes on the wire did not change.
        let wire = |m: Msg| m.encode().into_owned();
        assert_eq!(wire(Msg::Spawned(7)), b"pid:7");
        assert_eq!(wire(Msg::State("{}".into())), b"go:{}");
        assert_eq!(wire(Msg::Joined), b"joined");
        assert_eq!(wire(Msg::Hooks), b"hooks");
        assert_eq!(wire(Msg::HooksDone), b"go:");
        assert_eq!(wire(Msg::Ready), b"ready");
        assert_eq!(wire(Msg::Ack), b"ack");
        assert_eq!(wire(Msg::Start), b"start");
        assert_eq!(wire(Msg::ExecGo), b"go:");
        assert_eq!(wire(Msg::Failed("x".into())), b"err:x");
        // A bare `go:` is what the receiver waits for; one with a state is the state.
        assert_eq!(
            Msg::decode(b"go:", Kind::Ready),
            Some(Msg::State(String::new()))
        );
        assert_eq!(
            Msg::decode(b"go:{}", Kind::HooksDone),
            Some(Msg::State("{}".into()))
        );
        assert_eq!(Msg::decode(b"nonsense", Kind::Ready), None);
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
    fn kept_descriptors_arrive_as_the_same_files() {
        use std::os::fd::AsFd;
        let (a, b) = Channel::pair().unwrap();
        let dir = std::fs::File::open("/").unwrap();
        let file = std::fs::File::open("/proc/self/status").unwrap();
        a.send_kept(&[dir.as_fd(), file.as_fd()]).unwrap();
        let got = b.recv_kept().unwrap().unwrap();
        assert_eq!(got.len(), 2);
        let ino = |fd: BorrowedFd<'_>| rustix::fs::fstat(fd).unwrap().st_ino;
        assert_eq!(ino(got[0].as_fd()), ino(dir.as_fd()));
        assert_eq!(ino(got[1].as_fd()), ino(file.as_fd()));
        // A failure instead of `kept` is the error; an ordinary message is named.
        a.send(&Msg::Failed("opening /output: ENOENT".into()))
            .unwrap();
        assert_eq!(
            b.recv_kept().unwrap_err().to_string(),
            "opening /output: ENOENT"
        );
        a.send(&Msg::Ready).unwrap();
        assert!(b.recv_kept().unwrap_err().to_string().contains("\"ready\""));
        drop(a);
        assert!(b.recv_kept().unwrap().is_none());
    }

    #[test]
    fn oversized_messages_are_refused_not_cut() {
        let (a, b) = Channel::pair().unwrap();
        let big = Msg::State("x".repeat(MAX_MESSAGE));
        let err = a.send(&big).unwrap_err().to_string();
        assert!(err.contains("over the"), "{err}");
        // A peer that does not check: the receiver still sees the real size.
        let raw = [b"go:".as_slice(), &vec![b'y'; MAX_MESSAGE]].concat();
        nix::sys::socket::send(a.fd.as_raw_fd(), &raw, MsgFlags::empty()).unwrap();
        let err = b.recv(Kind::State).unwrap_err().to_string();
        assert!(err.contains(&format!("{} bytes", raw.len())), "{err}");
    }

    #[test]
    fn a_peer_that_left_with_our_message_unread_is_still_heard() {
        let (a, b) = Channel::pair().unwrap();
        b.send(&Msg::Joined).unwrap();
        a.send(&Msg::Failed("setup failed".into())).unwrap();
        drop(a); // leaves `Joined` unread: b gets ECONNRESET first
        assert_eq!(
            b.recv(Kind::Ready).unwrap(),
            Some(Msg::Failed("setup failed".into()))
        );
        assert_eq!(b.recv(Kind::Ready).unwrap(), None);
    }
}
