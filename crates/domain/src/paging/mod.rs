//! Keyset pagination shared by every list (todos, trash, security log): opaque cursors and
//! one statement per page.

pub mod cursor;
pub mod page;
