//! A partial update of one optional field: leave it, clear it, or set it. The schema maps
//! GraphQL's absent / `null` / value onto it, so the domain needs no GraphQL type.

/// What a partial update asks for one field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// The field was not mentioned: keep its value.
    #[default]
    Keep,
    /// The field was set to nothing.
    Clear,
    /// The field was set to this value.
    Set(T),
}
