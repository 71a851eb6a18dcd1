//! What the API accepts at all, whatever the field: text without control characters, and
//! instants that both databases hold. Every input goes through these rules before a domain rule
//! sees it (`schema::input_check` applies them to every argument of every request, naming the
//! field); cursors, which carry text and instants inside an opaque string, apply them when
//! decoded.
//!
//! Why: PostgreSQL refuses a NUL in text ("invalid byte sequence") and timestamps outside its
//! range, where SQLite stores them, so the same input was an internal error on one database and
//! stored (or matched: a search for `a<NUL>b` found "banana") on the other. Refusing them up
//! front gives one clear answer on both.

use chrono::{DateTime, NaiveDate, Utc};

/// How much of the control-character range a piece of text may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// One line: no control characters and no line break inside. Surrounding whitespace (a
    /// pasted trailing newline) is allowed, since such fields are trimmed or compared exactly.
    Line,
    /// Free text such as a todo's description: tabs and line breaks anywhere, no other
    /// control character.
    MultiLine,
    /// A password compared with a stored hash, taken exactly as sent: it reaches no database,
    /// and one that holds a character no password could have been set with simply does not
    /// match. (A new password is `Line`: nobody can type a NUL at sign-in.)
    AsTyped,
}

/// The earliest instant an input may name: 0001-01-01T00:00:00Z.
pub fn earliest_instant() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The latest instant an input may name: 9999-12-31T23:59:59.999999Z.
pub fn latest_instant() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|day| day.and_hms_micro_opt(23, 59, 59, 999_999))
        .map(|at| at.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Why `text` is refused in a field of this kind, if it is.
pub fn check_text(text: &str, kind: TextKind) -> Result<(), &'static str> {
    let refused = match kind {
        TextKind::AsTyped => false,
        TextKind::MultiLine => text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
        TextKind::Line => text.trim().chars().any(is_control_or_line_break),
    };
    if !refused {
        Ok(())
    } else if kind == TextKind::MultiLine {
        Err("must not contain control characters (tabs and line breaks are allowed)")
    } else {
        Err("must be one line without control characters")
    }
}

fn is_control_or_line_break(c: char) -> bool {
    // Cc covers NUL, the C0 and C1 ranges (with \n, \r, NEL) and DEL; U+2028 and U+2029 are
    // Unicode's own line and paragraph separators.
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Why `at` is refused, if it is: both databases hold years 1 to 9999 (and RFC 3339, which
/// the API speaks, writes nothing else).
pub fn check_instant(at: DateTime<Utc>) -> Result<(), &'static str> {
    if (earliest_instant()..=latest_instant()).contains(&at) {
        Ok(())
    } else {
        Err("must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
    }
}

/// An RFC 3339 timestamp in UTC, truncated to the microseconds both databases store, within
/// the years 1 to 9999. The `DateTime` scalar and the input check share this one parser.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, &'static str> {
    use chrono::SubsecRound;
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|_| "must be an RFC 3339 timestamp such as 2026-11-22T10:00:00Z")?
        .with_timezone(&Utc)
        .trunc_subsecs(6);
    check_instant(at)?;
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_refuses_control_characters_and_inner_line_breaks() {
        for bad in [
            "a\0b",
            "\0",
            "a\u{7}b",
            "a\u{1b}[31m",
            "a\u{7f}",
            "a\u{85}b",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{2028}b",
        ] {
            assert!(check_text(bad, TextKind::Line).is_err(), "{bad:?}");
        }
        for good in [
            "buy milk",
            "  buy milk \n",
            "\t\n",
            "",
            "ünïcödé ✓ 🙂",
            "a b",
        ] {
            assert!(check_text(good, TextKind::Line).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn multi_line_text_keeps_tabs_and_line_breaks_only() {
        assert!(check_text("one\ntwo\r\n\tthree\u{2028}", TextKind::MultiLine).is_ok());
        for bad in ["a\0", "a\u{7}", "a\u{1b}", "\u{7f}", "a\u{85}"] {
            assert!(check_text(bad, TextKind::MultiLine).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_being_checked_are_taken_as_typed() {
        assert!(check_text("pass\0word\n", TextKind::AsTyped).is_ok());
    }

    #[test]
    fn instants_are_held_to_the_years_1_to_9999() {
        assert!(parse_instant("0001-01-01T00:00:00Z").is_ok());
        assert!(parse_instant("9999-12-31T23:59:59.999999Z").is_ok());
        assert!(parse_instant("2026-11-22T10:00:00+02:00").is_ok());
        // In UTC these fall outside: year 0 and year 10000.
        assert!(parse_instant("0001-01-01T00:00:00+01:00").is_err());
        assert!(parse_instant("0000-06-01T00:00:00Z").is_err());
        assert!(parse_instant("9999-12-31T23:59:59-01:00").is_err());
        assert!(parse_instant("yesterday").is_err());
        assert!(check_instant(DateTime::<Utc>::MIN_UTC).is_err());
        assert!(check_instant(DateTime::<Utc>::MAX_UTC).is_err());
    }

    #[test]
    fn instants_keep_microseconds() {
        let at = parse_instant("2026-11-22T10:00:00.123456789Z").unwrap();
        assert_eq!(at.timestamp_subsec_nanos(), 123_456_000);
    }
}
