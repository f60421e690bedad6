//! Makes program output safe to echo to a terminal: escape sequences could move the cursor,
//! rewrite what vsbx printed, set the window title or talk to the terminal. Every C0 control
//! byte but `\n`, `\t` and `\r`, DEL, every C1 control (U+0080..U+009F, as UTF-8) and every
//! byte that is not part of valid UTF-8 (a terminal in an 8-bit mode reads 0x9b as CSI) is
//! shown as `\xNN`. Valid UTF-8 text passes unchanged. The stored output is never filtered.

/// A streaming filter: feed it chunks as they come; a UTF-8 sequence split across two
/// chunks is held back until it is complete.
#[derive(Debug, Default)]
pub struct EscapeFilter {
    pending: Vec<u8>,
}

impl EscapeFilter {
    /// The printable form of `chunk` (with what was held back from the chunk before).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(input.len());
        let mut rest: &[u8] = &input;
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    escape_text(text, &mut out);
                    rest = &[];
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // from_utf8 said these bytes are valid.
                    escape_text(std::str::from_utf8(good).unwrap_or_default(), &mut out);
                    match e.error_len() {
                        Some(n) => {
                            for b in &bad[..n] {
                                hex(*b, &mut out);
                            }
                            rest = &bad[n..];
                        }
                        None => {
                            // An incomplete sequence at the end: wait for the next chunk.
                            self.pending = bad.to_vec();
                            rest = &[];
                        }
                    }
                }
            }
        }
        out
    }

    /// What is still held back, escaped (the stream has ended).
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        for b in std::mem::take(&mut self.pending) {
            hex(b, &mut out);
        }
        out
    }
}

/// `bytes` escaped in one go (for a complete buffer).
pub fn neutralize(bytes: &[u8]) -> Vec<u8> {
    let mut f = EscapeFilter::default();
    let mut out = f.push(bytes);
    out.extend(f.finish());
    out
}

fn escape_text(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        let control =
            matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}') && !matches!(c, '\n' | '\t' | '\r');
        if control {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                hex(b, out);
            }
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

fn hex(b: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> String {
        String::from_utf8(neutralize(b)).expect("the filtered output is UTF-8")
    }

    #[test]
    fn text_newlines_tabs_and_unicode_pass() {
        assert_eq!(s(b"hello\tworld\r\n"), "hello\tworld\r\n");
        assert_eq!(s("grüße, 日本 ✓\n".as_bytes()), "grüße, 日本 ✓\n");
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(
            s(b"\x1b[2J\x1b]0;pwned\x07x"),
            "\\x1b[2J\\x1b]0;pwned\\x07x"
        );
        assert_eq!(s(b"a\x00b\x08c\x7f"), "a\\x00b\\x08c\\x7f");
    }

    #[test]
    fn c1_controls_and_invalid_bytes_are_escaped() {
        // U+009B (CSI) in UTF-8, then a raw 0x9b byte (CSI on an 8-bit terminal).
        assert_eq!(s("\u{9b}31m".as_bytes()), "\\xc2\\x9b31m");
        assert_eq!(s(b"\x9b31m"), "\\x9b31m");
        assert_eq!(s(b"\xff\xfe"), "\\xff\\xfe");
        // U+00A0 is not a control: it passes.
        assert_eq!(s("\u{a0}".as_bytes()), "\u{a0}");
    }

    #[test]
    fn a_sequence_split_across_chunks_is_joined() {
        let mut f = EscapeFilter::default();
        let bytes = "é\u{9b}".as_bytes(); // c3 a9 c2 9b
        let mut out = f.push(&bytes[..1]);
        assert!(out.is_empty(), "held back until complete");
        out.extend(f.push(&bytes[1..3]));
        out.extend(f.push(&bytes[3..]));
        out.extend(f.finish());
        assert_eq!(String::from_utf8(out).expect("utf8"), "é\\xc2\\x9b");
        let mut f = EscapeFilter::default();
        let mut out = f.push(b"x\xe2\x9c");
        out.extend(f.finish());
        assert_eq!(String::from_utf8(out).expect("utf8"), "x\\xe2\\x9c");
    }
}
