//! Turning GraphQL arguments into the domain's types.

use async_graphql::{ID, MaybeUndefined};
use todoql_domain::{AppError, AppResult, Patch};
use uuid::Uuid;

/// Parses an `ID` that must be a UUID; BAD_USER_INPUT on `field` otherwise.
pub fn parse_id(id: &ID, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "Not a valid id."))
}

/// The domain's partial update of a field from GraphQL's absent / `null` / value.
pub(crate) fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(value) => Patch::Set(value),
    }
}
