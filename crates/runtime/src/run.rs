//! `run`: create and start in one go; attached, the runtime stays the init's parent,
//! forwards signals, proxies a terminal it owns, and removes the container afterwards.

use std::os::fd::{AsRawFd, OwnedFd};

use crate::container::{create, create_from, destroy, release_created, CreateOptions, Created};
use crate::error::{Error, Result};
use crate::state::Root;

/// `run`, attached: create, start, wait, forward signals, delete; returns the exit code
/// (128+N for a signal).
pub fn run_attached(root: &Root, o: &CreateOptions) -> Result<i32> {
    let bundle = crate::spec::Bundle::load(&o.bundle)?;
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
    let created = create_from(root, o, bundle, console_theirs)?;
    let master = match console_ours {
        Some(sock) => Some(crate::linux::console::recv_fd(sock.as_raw_fd())?),
        None => None,
    };
    if let Err(e) = release_created(&created) {
        let _ = destroy(created.locked, &created.record);
        return Err(e);
    }
    // Unlock while the container runs so that state, kill and friends work meanwhile.
    let Created { pid, locked, .. } = created;
    drop(locked);
    let status = crate::attach::supervise(pid, master.as_ref(), &mask);
    match root.open(&o.id) {
        Ok((locked, record)) => destroy(locked, &record)?,
        Err(Error::NotFound) => {} // deleted by someone else meanwhile
        Err(e) => return Err(e),
    }
    status
}

/// `run --detach`: create and start, then leave.
pub fn run_detached(root: &Root, o: &CreateOptions) -> Result<()> {
    let created = create(root, o, None)?;
    if let Err(e) = release_created(&created) {
        let _ = destroy(created.locked, &created.record);
        return Err(e);
    }
    Ok(())
}
