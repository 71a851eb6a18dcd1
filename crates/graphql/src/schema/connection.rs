//! One Relay connection for every list: `edges`, `nodes` and `pageInfo` over a page of the
//! domain ([`Page`]), then the fields the list adds (such as a lazy [`total_count`]).
//!
//! What differs from list to list is words, and the fields a list adds after `pageInfo`: the
//! type names, the descriptions of the edge and of `totalCount`. async-graphql takes a field's
//! description from a doc comment, one per Rust definition, so a generic type cannot describe
//! a field differently per instantiation: each list therefore brings its own edge type and its
//! own object of added fields (flattened into the connection), both plain declarations, while
//! everything else lives here once. async-graphql's own `connection` types cannot be used: they
//! describe their fields and `PageInfo` in words of their own, which would change the schema.

use crate::error::Result;
use async_graphql::{ObjectType, OutputType, SimpleObject, TypeName};
use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use todoql_domain::AppResult;
use todoql_domain::todos::page::Page;

/// A GraphQL type listed through a [`Connection`], and what its list adds to the connection.
pub trait ConnectionNode: OutputType + Sized {
    /// The name of the connection type, e.g. `TodoConnection`.
    const CONNECTION_NAME: &'static str;
    /// The domain's row behind a node.
    type Row: Clone + Send + Sync;
    /// A node and its cursor, described in the list's words.
    type Edge: OutputType;
    /// The fields the list adds after `pageInfo` (`totalCount`, in the list's words), flattened
    /// into the connection, so that this object's own name never reaches the schema. A list
    /// that adds none: `async_graphql::connection::EmptyFields`.
    type ListFields: ObjectType;

    /// The node showing `row`.
    fn from_row(row: Self::Row) -> Self;
    /// The edge of `node` at `cursor`.
    fn edge(cursor: String, node: Self) -> Self::Edge;
}

/// One page of a list of `N` (Relay connection spec).
pub struct Connection<N: ConnectionNode> {
    page: Page<N::Row>,
    list_fields: N::ListFields,
    node: PhantomData<N>,
}

impl<N: ConnectionNode> Connection<N> {
    /// The connection of `page`, followed by `list_fields`.
    pub fn new(page: Page<N::Row>, list_fields: N::ListFields) -> Self {
        Self {
            page,
            list_fields,
            node: PhantomData,
        }
    }
}

impl<N: ConnectionNode> TypeName for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(N::CONNECTION_NAME)
    }
}

#[async_graphql::Object(name_type)]
impl<N: ConnectionNode> Connection<N> {
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

    #[graphql(flatten)]
    async fn list_fields(&self) -> &N::ListFields {
        &self.list_fields
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

/// A list's `totalCount`: the count fetched with the page (the list's query selected it),
/// else `count`, awaited only then (a selection the query's look-ahead did not see).
pub async fn total_count(
    fetched: Option<u64>,
    count: impl Future<Output = AppResult<u64>>,
) -> Result<i32> {
    let count = match fetched {
        Some(count) => count,
        None => count.await?,
    };
    Ok(i32::try_from(count).unwrap_or(i32::MAX))
}
