//! Counts a document's tokens and bracket nesting before it is parsed.
//!
//! async-graphql's parser (pest) has no token limit, takes ~1.4 µs per token, and its time
//! grows with the square of the nesting of list and object values (5,000 nested `[` take
//! 150 ms; 20,000 overflow the stack and abort the process). This scan is one pass over the
//! bytes with no allocation, following the lexical grammar of the GraphQL spec (§2.1): it
//! stops at the first token over the limit, so a refused document costs microseconds.

/// Why a document was refused before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexLimit {
    /// More than this many tokens.
    Tokens(usize),
    /// Brackets (`{`, `[`, `(`) nested deeper than this.
    Nesting(usize),
}

/// Checks that `text` has at most `max_tokens` tokens and nests brackets at most
/// `max_nesting` deep. Malformed text is counted as best it can be: the parser reports it.
pub fn check(text: &str, max_tokens: usize, max_nesting: usize) -> Result<(), LexLimit> {
    let bytes = text.as_bytes();
    let mut tokens = 0usize;
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            // Ignored tokens: white space, line terminators, commas, the BOM's first byte.
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' => i = skip_string(bytes, i),
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max_nesting {
                    return Err(LexLimit::Nesting(max_nesting));
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            _ if is_word(b) => {
                // A name or a number (with its sign, fraction and exponent): one token.
                while i < bytes.len() && (is_word(bytes[i]) || bytes[i] == b'.') {
                    if bytes[i] == b'.' && bytes[i..].starts_with(b"...") {
                        break;
                    }
                    i += 1;
                }
            }
            // Other punctuators, and characters the parser will refuse (one token each; a
            // multi-byte character counts once per byte, which only errs on the safe side).
            _ => i += 1,
        }
        tokens += 1;
        if tokens > max_tokens {
            return Err(LexLimit::Tokens(max_tokens));
        }
    }
    Ok(())
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'+'
}

/// The index after the string starting at `start` (a `"…"` string or a `"""…"""` block
/// string); the end of the text when it is not closed.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            // A line break ends an unterminated string: the parser reports it.
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::{LexLimit, check};

    fn count(text: &str) -> usize {
        (0..).find(|&max| check(text, max, 64).is_ok()).unwrap()
    }

    #[test]
    fn tokens_are_counted_as_the_spec_defines_them() {
        assert_eq!(count("{ me { id } }"), 6);
        assert_eq!(
            count("query Q($first: Int = 20) { todos(first: $first) { totalCount } }"),
            22
        );
        assert_eq!(count("{ a(x: -1.5e+3, y: [1, 2]) }"), 14);
        assert_eq!(count("{ ...F } fragment F on Query { __typename }"), 11);
    }

    #[test]
    fn strings_comments_and_commas_do_not_count_their_insides() {
        assert_eq!(
            count(r#"{ a(x: "b c { [ d", y: """e " "" \""" f""") }"#),
            11
        );
        assert_eq!(count("# { [ (\n{ a }"), 3);
        assert_eq!(count("{ a,,,, b }"), 4);
    }

    #[test]
    fn limits_stop_the_scan() {
        assert_eq!(check("{ a b c }", 4, 64), Err(LexLimit::Tokens(4)));
        assert_eq!(check("{ a b c }", 5, 64), Ok(()));
        let nested = format!("{{ a(x: {}1{}) }}", "[".repeat(70), "]".repeat(70));
        assert_eq!(check(&nested, 10_000, 64), Err(LexLimit::Nesting(64)));
        assert_eq!(check("{ a { b { c } } }", 100, 3), Ok(()));
        assert_eq!(
            check("{ a { b { c { d } } } }", 100, 3),
            Err(LexLimit::Nesting(3))
        );
    }

    #[test]
    fn unterminated_strings_end_the_scan_without_panicking() {
        assert!(check("{ a(x: \"abc", 100, 64).is_ok());
        assert!(check("{ a(x: \"\"\"abc", 100, 64).is_ok());
        assert!(check("\"\\", 100, 64).is_ok());
    }
}
