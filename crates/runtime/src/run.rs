//! `run`: create and start in one go; attached, the runtime stays the init's parent,
//! forwards signals, proxies a terminal it owns, and removes the container afterwards.

use std::os::fd::{AsRawFd, OwnedFd};

use crate::container::{create_from, CreateOptions};
use crate::error::{Error, Result};
use crate::handle::Container;
use crate::plan::ContainerPlan;
use crate::state::Root;

/// `run`, attached: create, start, wait, forward signals, delete; returns the exit code
/// (128+N for a signal).
pub fn run_attached(root: &Root, o: &CreateOptions) -> Result<i32> {
    let bundle = crate::spec::Bundle::read(&o.bundle)?;
    let bundle_terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let (console_ours, console_theirs) = if bundle_terminal && o.console_socket.is_none() {
        let (a, b) =
            std::os::unix::net::UnixStream::pair().map_err(|e| Error::os("socketpair", e))?;
        (Some(OwnedFd::from(a)), Some(OwnedFd::from(b)))
    } else {
        (None, None)
    };
    let mask = crate::attach::block_signals()?;
    let mut c = Container::from_created(
        root,
        create_from(root, ContainerPlan::build(bundle, o, console_theirs)?)?,
    );
    let master = match console_ours {
        Some(sock) => Some(crate::linux::console::recv_fd(sock.as_raw_fd())?),
        None => None,
    };
    c.start()?;
    // Unlock while the container runs so that state, kill and friends work meanwhile.
    c.unlock();
    let status = crate::attach::supervise(c.pid(), master.as_ref(), &mask);
    if status.is_ok() {
        c.set_reaped();
    }
    c.destroy()?;
    status
}

/// `run --detach`: create and start, then leave.
pub fn run_detached(root: &Root, o: &CreateOptions) -> Result<()> {
    let mut c = Container::create(root, o)?;
    c.start()?;
    c.leave();
    Ok(())
}
