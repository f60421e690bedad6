//! The runtime's error type. Every message is one line a user can act on.

use std::io;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container named on the command line has no state under --root.
    #[error("container does not exist")]
    NotFound,
    /// config.json or a command-line value is invalid; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A system call or file operation failed; `what` says what we were doing.
    #[error("{what}: {source}")]
    Os {
        what: String,
        #[source]
        source: io::Error,
    },
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub fn other(msg: impl Into<String>) -> Self {
        Error::Other(msg.into())
    }
    pub fn os(what: impl Into<String>, source: io::Error) -> Self {
        Error::Os {
            what: what.into(),
            source,
        }
    }
    pub fn errno(what: impl Into<String>, errno: nix::errno::Errno) -> Self {
        Error::os(what, io::Error::from_raw_os_error(errno as i32))
    }
    pub fn path(what: &str, path: &Path, source: io::Error) -> Self {
        Error::os(format!("{what} {}", path.display()), source)
    }
}

/// Adds "what we were doing" to io and nix results.
pub trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, io::Error> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::os(what(), e))
    }
}

impl<T> Context<T> for std::result::Result<T, nix::errno::Errno> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::errno(what(), e))
    }
}
