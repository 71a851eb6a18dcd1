//! One Relay connection for every list: `edges`, `nodes` and `pageInfo` over a page of the
//! domain ([`Page`]), then the fields the list adds (such as a lazy [`total_count`]).
//!
//! What differs from list to list is words: the type names, the descriptions of the edge and of
//! `totalCount`. async-graphql takes a field's description from a doc comment, one per Rust
//! definition, so each list brings its own edge type (a plain declaration), and the
//! connection's registration sets the description of `totalCount` per list
//! ([`ListCount::DESCRIPTION`]). A flattened object per list would say it too, but costs about
//! 80 k instructions per todo-list request (5 %, `scripts/instructions-per-request.py`).
//! async-graphql's own `connection` types cannot be used: they describe their fields and
//! `PageInfo` in words of their own, which would change the schema.

use crate::error::Result;
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{
    Context, ContextSelectionSet, OutputType, Positioned, ServerResult, SimpleObject, TypeName,
    Value, parser::types::Field,
};
use futures_util::future::BoxFuture;
use std::borrow::Cow;
use std::future::Future;
use todoql_domain::AppResult;
use todoql_domain::paging::page::Page;

/// A GraphQL type listed through a [`Connection`].
pub trait ConnectionNode: OutputType + Sized {
    /// The name of the connection type, e.g. `TodoConnection`.
    const CONNECTION_NAME: &'static str;
    /// The domain's row behind a node.
    type Row: Clone + Send + Sync;
    /// A node and its cursor, described in the list's words.
    type Edge: OutputType;
    /// What the list's `totalCount` needs and how it is described.
    type Count: ListCount;
    /// Whether the connection shows `revision` (the todo list only; the field is removed
    /// from the other connections' types when registered).
    const REVISION: bool = false;

    /// The node showing `row`.
    fn from_row(row: Self::Row) -> Self;
    /// The edge of `node` at `cursor`.
    fn edge(cursor: String, node: Self) -> Self::Edge;
}

/// A list's `totalCount`: what it says in the schema, and how it is counted when the page did
/// not bring the count along.
pub trait ListCount: Send + Sync {
    /// The description of `totalCount` on this list's connection.
    const DESCRIPTION: &'static str;

    /// How many items the whole list holds.
    fn total_count<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, Result<i32>>;

    /// The list's change revision when the page did not bring it along (only the todo list
    /// shows `revision`; the others never get here, their types have no such field).
    fn revision<'a>(&'a self, _ctx: &'a Context<'_>) -> BoxFuture<'a, Result<i32>> {
        Box::pin(async { Ok(0) })
    }
}

/// One page of a list of `N` (Relay connection spec).
pub struct Connection<N: ConnectionNode>(Fields<N>);

impl<N: ConnectionNode> Connection<N> {
    /// The connection of `page`, counted by `count`.
    pub fn new(page: Page<N::Row>, count: N::Count) -> Self {
        Self(Fields { page, count })
    }
}

/// The connection's fields as async-graphql derives them; [`Connection`] registers them under
/// the list's name with the list's description of `totalCount`.
pub struct Fields<N: ConnectionNode> {
    page: Page<N::Row>,
    count: N::Count,
}

impl<N: ConnectionNode> TypeName for Fields<N> {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(N::CONNECTION_NAME)
    }
}

#[async_graphql::Object(name_type)]
impl<N: ConnectionNode> Fields<N> {
    async fn edges(&self) -> Vec<N::Edge> {
        // Cursors are made only here: a list that selects `nodes` pays for none.
        self.page
            .rows
            .iter()
            .map(|row| N::edge(self.page.cursor(row), N::from_row(row.clone())))
            .collect()
    }

    async fn nodes(&self) -> Vec<N> {
        self.page.rows.iter().cloned().map(N::from_row).collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo::of(&self.page)
    }

    /// The caller's change revision this page was read at: subscribe to todoChanges(since:) with it.
    async fn revision(&self, ctx: &Context<'_>) -> Result<i32> {
        // The list's resolver reads it with the page whenever the selection has it; the
        // statement of its own is a fallback, not in the page's snapshot.
        match self.page.revision {
            Some(revision) => Ok(i32::try_from(revision).unwrap_or(i32::MAX)),
            None => self.count.revision(ctx).await,
        }
    }

    // Described per list by `Connection::create_type_info`.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        match self.page.total_count {
            Some(fetched) => Ok(clamp(fetched)),
            None => self.count.total_count(ctx).await,
        }
    }
}

impl<N: ConnectionNode> OutputType for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        <Fields<N> as TypeName>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        // Returns the type as a field refers to it ("TodoConnection!"); the registry keys the
        // type by its bare name.
        let name = Fields::<N>::create_type_info(registry);
        if let Some(MetaType::Object { fields, .. }) = registry.types.get_mut(N::CONNECTION_NAME) {
            if let Some(total_count) = fields.get_mut("totalCount") {
                total_count.description = Some(N::Count::DESCRIPTION.to_owned());
            }
            if !N::REVISION {
                fields.shift_remove("revision");
            }
        }
        name
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        OutputType::resolve(&self.0, ctx, field).await
    }
}

/// Where a page stands in its list (Relay connection spec).
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether more rows follow this page.
    pub has_next_page: bool,
    /// True when the page was asked for after a cursor (rows may precede it).
    pub has_previous_page: bool,
    /// The cursor of the first row of the page.
    pub start_cursor: Option<String>,
    /// The cursor of the last row of the page; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    fn of<M>(page: &Page<M>) -> Self {
        Self {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: page.start_cursor(),
            end_cursor: page.end_cursor(),
        }
    }
}

/// A count where the schema says `Int` (which is 32-bit).
fn clamp(count: u64) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// A count from `count`, for [`ListCount::total_count`].
pub async fn counted(count: impl Future<Output = AppResult<u64>>) -> Result<i32> {
    Ok(clamp(count.await?))
}
