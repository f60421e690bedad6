//! The calls to systemd's manager: a blocking zbus connection over the system bus to PID 1,
//! or over the user's session bus to the user's own systemd.
//!
//! zbus runs a thread for the connection: a connection is opened only after the init is
//! cloned, and never before a process is forked or cloned by hand.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zbus::blocking::Connection;
use zbus::zvariant::OwnedValue;

use super::{Property, Unit};
use crate::error::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// How long one call may take: systemd answers in milliseconds, but a loaded host (or an
/// emulated one) can be slow.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to one systemd manager.
pub struct Bus {
    conn: Connection,
}

impl Bus {
    /// Connects to the manager that owns `unit`s of this kind (the user's for rootless).
    pub fn connect(user: bool) -> Result<Bus> {
        let conn = if user {
            connect_user()
        } else {
            connect_system()
        }?;
        Ok(Bus { conn })
    }

    fn call<B>(&self, method: &str, what: &str, body: &B) -> Result<zbus::message::Message>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.conn
            .call_method(Some(DEST), PATH, Some(MANAGER), method, body)
            .map_err(|e| call_error(what, e))
    }

    /// Starts a transient scope holding `props` (the pids among them).
    pub fn start_transient(&self, unit: &Unit, props: &[Property]) -> Result<()> {
        let aux: Vec<(&str, Vec<Property>)> = Vec::new();
        let what = format!("starting {}", unit.name);
        match self.call(
            "StartTransientUnit",
            &what,
            &(unit.name.as_str(), "fail", props, &aux),
        ) {
            Ok(_) => Ok(()),
            Err(e) if is(&e, "UnitExists") => {
                // A unit of that name that failed lingers until reset; one that is alive is
                // another container's.
                self.reset_failed(&unit.name);
                self.call(
                    "StartTransientUnit",
                    &what,
                    &(unit.name.as_str(), "fail", props, &aux),
                )
                .map(|_| ())
                .map_err(|_| {
                    Error::other(format!(
                        "systemd: unit {} already exists (a container of that name runs?)",
                        unit.name
                    ))
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Changes the unit's properties (resources, at `update`), for this boot only.
    pub fn set_properties(&self, unit: &Unit, props: &[Property]) -> Result<()> {
        if props.is_empty() {
            return Ok(());
        }
        self.call(
            "SetUnitProperties",
            &format!("updating {}", unit.name),
            &(unit.name.as_str(), true, props),
        )
        .map(|_| ())
    }

    /// Stops the unit and forgets a failed state; a unit already gone is fine.
    pub fn stop(&self, unit: &Unit) -> Result<()> {
        match self.call(
            "StopUnit",
            &format!("stopping {}", unit.name),
            &(unit.name.as_str(), "replace"),
        ) {
            Ok(_) => {}
            Err(e) if is(&e, "NoSuchUnit") => {}
            Err(e) => return Err(e),
        }
        self.reset_failed(&unit.name);
        Ok(())
    }

    fn reset_failed(&self, name: &str) {
        let _ = self.call("ResetFailedUnit", "resetting", &(name,));
    }

    /// The unit's ActiveState ("active", "failed", ...), for error messages.
    pub fn active_state(&self, unit: &Unit) -> Option<String> {
        let reply = self.call("GetUnit", "", &(unit.name.as_str(),)).ok()?;
        let path: zbus::zvariant::OwnedObjectPath = reply.body().deserialize().ok()?;
        let reply = self
            .conn
            .call_method(
                Some(DEST),
                path.as_str(),
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &("org.freedesktop.systemd1.Unit", "ActiveState"),
            )
            .ok()?;
        let v: OwnedValue = reply.body().deserialize().ok()?;
        String::try_from(v).ok()
    }
}

/// Waits until systemd has moved `pid` into the unit; returns its cgroup (the path in
/// /proc/PID/cgroup, e.g. "/machine.slice/libpod-x.scope"). StartTransientUnit only queues
/// the job.
pub fn wait_placed(bus: &Bus, unit: &Unit, pid: i32, timeout: Duration) -> Result<PathBuf> {
    let file = format!("/proc/{pid}/cgroup");
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(100);
    loop {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::os(format!("reading {file} (did the init die?)"), e))?;
        if let Some(path) = text.lines().find_map(|l| l.strip_prefix("0::")) {
            let path = Path::new(path.trim());
            if path.file_name().and_then(|n| n.to_str()) == Some(unit.name.as_str()) {
                return Ok(path.to_path_buf());
            }
        }
        if Instant::now() >= deadline {
            let state = bus.active_state(unit).unwrap_or_else(|| "unknown".into());
            return Err(Error::other(format!(
                "systemd did not move the container's init into {} within {} s (unit state: {state})",
                unit.name,
                timeout.as_secs()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

// Both go through the D-Bus daemon: systemd's private sockets (/run/systemd/private,
// $XDG_RUNTIME_DIR/systemd/private) send messages whose sender field zbus rejects.
fn connect_system() -> Result<Connection> {
    zbus::blocking::connection::Builder::system()
        .and_then(|b| b.method_timeout(CALL_TIMEOUT).build())
        .map_err(|e| {
            Error::other(format!(
                "--systemd-cgroup: cannot reach systemd over the system bus: {e}"
            ))
        })
}

fn connect_user() -> Result<Connection> {
    // Our uid as the bus sees it: in a user namespace (rootless podman runs us as its root)
    // the kernel reports the outside uid, and EXTERNAL authentication must name that one.
    let uid = host_uid();
    let address = match std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        Ok(a) if !a.is_empty() => a,
        _ => {
            let runtime_dir =
                std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| format!("/run/user/{uid}"));
            format!("unix:path={runtime_dir}/bus")
        }
    };
    zbus::blocking::connection::Builder::address(address.as_str())
        .map(|b| b.user_id(uid).method_timeout(CALL_TIMEOUT))
        .and_then(|b| b.build())
        .map_err(|e| {
            Error::other(format!(
                "--systemd-cgroup: cannot reach the user's systemd over the session bus \
                 {address}: {e}"
            ))
        })
}

/// This process's effective uid in the initial user namespace, read from its uid map.
pub fn host_uid() -> u32 {
    let euid = rustix::process::geteuid().as_raw();
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    host_id(euid, &map)
}

fn host_id(id: u32, map: &str) -> u32 {
    for line in map.lines() {
        let f: Vec<u64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if let [inside, outside, count] = f[..] {
            let id = u64::from(id);
            if id >= inside && id - inside < count {
                return u32::try_from(outside + (id - inside)).unwrap_or(u32::MAX);
            }
        }
    }
    id
}

fn is(e: &Error, dbus_name: &str) -> bool {
    e.to_string()
        .contains(&format!("org.freedesktop.systemd1.{dbus_name}"))
}

fn call_error(what: &str, e: zbus::Error) -> Error {
    match e {
        zbus::Error::MethodError(name, msg, _) => Error::other(format!(
            "systemd: {what}: {} ({name})",
            msg.unwrap_or_default()
        )),
        e => Error::other(format!("systemd: {what}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::host_id;

    #[test]
    fn the_outside_uid_comes_from_the_map() {
        assert_eq!(host_id(0, "         0       1000          1\n"), 1000);
        assert_eq!(
            host_id(5, "0 1000 1\n1 100000 65536\n"),
            100004,
            "the second range"
        );
        assert_eq!(host_id(7, "0 0 4294967295\n"), 7, "the initial namespace");
        assert_eq!(host_id(7, ""), 7);
    }
}
