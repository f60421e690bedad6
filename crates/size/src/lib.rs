//! Sizes in bytes, one syntax for every flag and file of vsbx: `vsbx-runtime update
//! --memory`, `vsbx run --memory/--tmp-size/--output-size/--output-cap`, profile and runner
//! TOML. Parsing is the `parse-size` crate's with binary units: a plain number is bytes,
//! K, M, G, T, P and E (with or without i and B, any case) are powers of 1024, and the number
//! may have a fraction (`1.5G`), as runc's `update` (docker's RAMInBytes) accepts.

use std::fmt;

/// Why a text is not a size; its `Display` is one line, for the caller to prefix with the
/// flag or key it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    reason: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a size ({}; expected bytes or a number with a K, M, G or T suffix, e.g. 64M or 1.5G)",
            self.reason
        )
    }
}

impl std::error::Error for Error {}

const PARSER: parse_size::Config = parse_size::Config::new().with_binary();

/// Parses a size in bytes (`4096`, `512K`, `64M`, `1.5G`, `2GiB`); fractions of a byte round.
pub fn parse(text: &str) -> Result<u64, Error> {
    PARSER.parse_size(text.trim()).map_err(|e| Error {
        reason: match e {
            parse_size::Error::Empty => "empty",
            parse_size::Error::InvalidDigit => "invalid number or unit",
            parse_size::Error::PosOverflow => "too large",
            _ => "invalid",
        },
    })
}

/// A limit as runc's `update` flags take it: a size, or `-1` for unlimited.
pub fn parse_limit(text: &str) -> Result<i64, Error> {
    if text.trim() == "-1" {
        return Ok(-1);
    }
    let bytes = parse(text)?;
    i64::try_from(bytes).map_err(|_| Error {
        reason: "too large",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        for (text, bytes) in [
            ("4096", 4096),
            ("0", 0),
            ("512k", 512 << 10),
            ("512K", 512 << 10),
            ("512KiB", 512 << 10),
            ("512kb", 512 << 10),
            ("64m", 64 << 20),
            ("64M", 64 << 20),
            ("1g", 1 << 30),
            ("1G", 1 << 30),
            ("1.5G", 3 << 29),
            ("1.5g", 3 << 29),
            ("0.5M", 512 << 10),
            ("2T", 2 << 40),
            (" 64M ", 64 << 20),
            ("10b", 10),
        ] {
            assert_eq!(parse(text), Ok(bytes), "{text:?}");
            assert_eq!(parse_limit(text), Ok(bytes as i64), "{text:?}");
        }
        assert_eq!(parse_limit("-1"), Ok(-1));
    }

    #[test]
    fn rejected_forms() {
        for text in [
            "",
            " ",
            "M",
            "lots",
            "5x",
            "12X",
            "64MM",
            "-1",
            "-1M",
            "-5",
            "1..5G",
            "G1",
            "99999999999999999999G",
            "0x10",
        ] {
            let e = parse(text).expect_err(text).to_string();
            assert!(e.starts_with("not a size ("), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        for text in ["-2", "-1G", "16E", "lots"] {
            assert!(parse_limit(text).is_err(), "{text:?}");
        }
    }
}
