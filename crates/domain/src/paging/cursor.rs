//! Opaque keyset cursors: the sort key and the id of the last row a client saw, plus the
//! ordering they were made for.
//!
//! A cursor is `base64url("v1|{ordering}|{id}|{key}")`, where key is `t{epoch µs}` for a
//! timestamp, `n` for a missing due date, or `s{text}` for a title (last, so the title may hold
//! any character). Both databases store microseconds, so a timestamp read back, written into a
//! cursor and bound again compares equal to the stored value: paging never skips or repeats a
//! row. Cursors are not secret (they only name a position among the caller's own rows), so they
//! are not signed; a tampered cursor is either rejected or names another position. What it
//! carries meets the rules of any input ([`crate::input`]): a title key is one line without
//! control characters and a time lies in the years 1 to 9999, so a forged cursor can never
//! hand a database a value it cannot hold.

use crate::error::{AppError, AppResult};
use crate::input::{self, TextKind};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// `created_at`.
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `due_date`; todos without one come last in both directions.
    DueDate,
    /// `title`, in the database's collation.
    Title,
    /// `deleted_at` of the trash.
    DeletedAt,
}

impl SortKey {
    fn tag(self) -> &'static str {
        match self {
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
            SortKey::DueDate => "due_date",
            SortKey::Title => "title",
            SortKey::DeletedAt => "deleted_at",
        }
    }

    /// Whether rows may lack this key (they then sort last).
    pub fn nullable(self) -> bool {
        self == SortKey::DueDate
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A sort key and a direction; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ordering {
    /// The key.
    pub key: SortKey,
    /// The direction of key and id.
    pub direction: Direction,
}

impl Ordering {
    fn tag(self) -> String {
        let direction = match self.direction {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        format!("{}.{direction}", self.key.tag())
    }
}

/// The sort-key value of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// A timestamp (created, updated, due or deleted at).
    Time(DateTime<Utc>),
    /// No due date.
    Missing,
    /// A title.
    Text(String),
}

/// A position in a list: the sort key and id of a row, for one ordering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The ordering the cursor was made for.
    pub ordering: Ordering,
    /// The row's sort key.
    pub key: KeyValue,
    /// The row's id (the tie-breaker).
    pub id: Uuid,
}

const VERSION: &str = "v1";

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let key = match &self.key {
            KeyValue::Time(at) => format!("t{}", at.timestamp_micros()),
            KeyValue::Missing => "n".to_owned(),
            KeyValue::Text(text) => format!("s{text}"),
        };
        let raw = format!(
            "{VERSION}|{}|{}|{key}",
            self.ordering.tag(),
            self.id.simple()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor that must have been made for `ordering`; BAD_USER_INPUT on `field`
    /// when it is malformed or belongs to another ordering.
    pub fn decode(text: &str, ordering: Ordering, field: &str) -> AppResult<Cursor> {
        let malformed = || AppError::bad_input(field, "Not a valid cursor.");
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| malformed())?;
        let raw = String::from_utf8(bytes).map_err(|_| malformed())?;
        let mut parts = raw.splitn(4, '|');
        let (Some(version), Some(tag), Some(id), Some(key)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        if version != VERSION {
            return Err(malformed());
        }
        if tag != ordering.tag() {
            return Err(AppError::bad_input(
                field,
                "This cursor was made for another ordering; start again without it.",
            ));
        }
        let id = Uuid::try_parse(id).map_err(|_| malformed())?;
        let key = match (ordering.key, key.split_at_checked(1)) {
            (SortKey::Title, Some(("s", text))) => {
                input::check_text(text, TextKind::Line).map_err(|_| malformed())?;
                KeyValue::Text(text.to_owned())
            }
            (SortKey::DueDate, Some(("n", ""))) => KeyValue::Missing,
            (
                SortKey::CreatedAt | SortKey::UpdatedAt | SortKey::DueDate | SortKey::DeletedAt,
                Some(("t", micros)),
            ) => micros
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_micros)
                .filter(|at| input::check_instant(*at).is_ok())
                .map(KeyValue::Time)
                .ok_or_else(malformed)?,
            _ => return Err(malformed()),
        };
        Ok(Cursor { ordering, key, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BY_TITLE: Ordering = Ordering {
        key: SortKey::Title,
        direction: Direction::Asc,
    };
    const BY_DUE: Ordering = Ordering {
        key: SortKey::DueDate,
        direction: Direction::Desc,
    };

    #[test]
    fn a_cursor_round_trips_exactly() {
        let at = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        for cursor in [
            Cursor {
                ordering: BY_DUE,
                key: KeyValue::Time(at),
                id: Uuid::now_v7(),
            },
            Cursor {
                ordering: BY_DUE,
                key: KeyValue::Missing,
                id: Uuid::now_v7(),
            },
            Cursor {
                ordering: BY_TITLE,
                key: KeyValue::Text("a|b|c ünïcode".into()),
                id: Uuid::now_v7(),
            },
        ] {
            let decoded = Cursor::decode(&cursor.encode(), cursor.ordering, "after").unwrap();
            assert_eq!(decoded, cursor);
        }
    }

    #[test]
    fn a_cursor_of_another_ordering_is_rejected() {
        let cursor = Cursor {
            ordering: BY_TITLE,
            key: KeyValue::Text("x".into()),
            id: Uuid::now_v7(),
        };
        let other = Ordering {
            key: SortKey::Title,
            direction: Direction::Desc,
        };
        assert!(matches!(
            Cursor::decode(&cursor.encode(), other, "after"),
            Err(AppError::BadUserInput { .. })
        ));
    }

    #[test]
    fn a_title_key_with_a_control_character_is_rejected() {
        let forged = URL_SAFE_NO_PAD.encode("v1|title.asc|00000000000000000000000000000000|sa\0b");
        assert!(matches!(
            Cursor::decode(&forged, BY_TITLE, "after"),
            Err(AppError::BadUserInput { field, .. }) if field == "after"
        ));
    }

    #[test]
    fn garbage_is_rejected() {
        for text in [
            "",
            "!!!",
            "djE",
            "djF8dGl0bGUuYXNjfHh8c3g",
            &URL_SAFE_NO_PAD.encode("v1|due_date.desc|00000000000000000000000000000000|s"),
            // Times no database holds: PostgreSQL's range ends in 4713 BC, chrono's does not.
            &URL_SAFE_NO_PAD
                .encode("v1|due_date.desc|00000000000000000000000000000000|t-8000000000000000000"),
            &URL_SAFE_NO_PAD
                .encode("v1|due_date.desc|00000000000000000000000000000000|t253402300800000000"),
        ] {
            assert!(Cursor::decode(text, BY_DUE, "after").is_err(), "{text}");
        }
    }
}
