//! Queries, mutations and the subscription of todos and the trash, and their GraphQL types.
//!
//! Every operation needs a signed-in caller with a verified email (unless the server is
//! configured otherwise): UNAUTHENTICATED / EMAIL_NOT_VERIFIED.

pub mod changes;
pub mod inputs;
pub mod lists;
pub mod live;
pub mod mutations;
pub mod queries;
pub mod types;

pub use changes::TodoChangesQuery;
pub use live::TodoSubscription;
pub use mutations::TodoMutation;
pub use queries::TodoQuery;
