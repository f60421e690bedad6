//! Facts about host processes read from /proc.

use std::fs;

/// Fields after the command name in /proc/PID/stat (the name may hold spaces and parens).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_owned).collect())
}

/// The start time of `pid` in clock ticks since boot, or None if it does not exist.
pub fn start_time(pid: i32) -> Option<u64> {
    // After ")": state is field 3 of the file, so starttime (field 22) is index 19.
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// True while `pid` runs and is the process that started at `start` (0 = don't check).
/// A zombie counts as dead: it will never run user code again.
pub fn is_alive(pid: i32, start: u64) -> bool {
    let Some(f) = stat_fields(pid) else {
        return false;
    };
    if matches!(f.first().map(String::as_str), Some("Z") | Some("X")) {
        return false;
    }
    start == 0 || f.get(19).and_then(|s| s.parse::<u64>().ok()) == Some(start)
}

/// Now, as RFC 3339 with nanoseconds in UTC (the format of runc's `created`).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

/// Now, as RFC 3339 to the second (the `time` of runc's log lines).
pub fn now_rfc3339_seconds() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_is_alive() {
        let me = std::process::id() as i32;
        let st = start_time(me).unwrap();
        assert!(is_alive(me, st));
        assert!(!is_alive(me, st + 1));
        assert!(!is_alive(i32::MAX, 0));
    }
}
