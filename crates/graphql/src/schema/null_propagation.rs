//! The GraphQL spec's handling of field errors (6.4.4): a field that fails is null, and a null
//! in a non-null position makes its nearest nullable parent null (a list item, a field, or
//! `data` itself).
//!
//! async-graphql 7.2 does neither: its container resolver (`do_resolve_container`) records a
//! failed field's error and leaves the field out of its parent object, whatever its type. So
//! `{ me { id } todos { totalCount } }` with a revoked token answered `{"me": null}` (no
//! `todos` at all) where the spec says `data: null`. This extension does it instead: around
//! each field's resolver it turns an error into a null (keeping the error for the response),
//! and, when a non-null field is null, nulls the nearest nullable position above it. Every
//! field's resolver runs inside its parent's, so each field settles its own value once its
//! children are done; the root's answer is settled at the end of execution.
//!
//! A mutation's root fields run one after the other: once one of them fails with a non-null
//! type, `data` is null and the ones after it are not run (as graphql-js does; the spec allows
//! cancelling them), so that no change happens that the client cannot see. The ones before it
//! stay done: their answers are lost with `data`, their changes are not.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::registry::MetaTypeName;
use async_graphql::{QueryPathNode, QueryPathSegment, Response, ServerError, ServerResult, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The extension on its own (its tests use it). The schema runs `Propagation` inside its one
/// extension, `hooks::SchemaHooks`, instead: see there why.
pub struct NullPropagation;

impl ExtensionFactory for NullPropagation {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Propagation::default())
    }
}

/// One segment of a response path, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The state of one request; [`finish`](Propagation::finish) and
/// [`around_field`](Propagation::around_field) are the extension's hooks.
#[derive(Default)]
pub(crate) struct Propagation {
    /// Whether `pending` may hold anything (the fast path of every field reads only this).
    any_pending: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The field errors, moved out of the fields' results (which became null).
    errors: Vec<ServerError>,
    /// Non-null fields that are null: each waits for the field (or root) it sits in to null
    /// the nearest nullable position above it.
    pending: Vec<Vec<Segment>>,
    /// A root field was null in a non-null position: `data` is null.
    data_null: bool,
}

impl Propagation {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Propagation {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.finish(next.run(ctx, operation_name).await)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        self.around_field(ctx, info, next).await
    }
}

impl Propagation {
    /// The end of execution: `data` is null if a root field's null reached it, and the field
    /// errors join the response.
    pub(crate) fn finish(&self, mut response: Response) -> Response {
        let mut inner = self.lock();
        // Root fields still pending sit directly in `data`, which cannot be null-free then.
        if inner.pending.iter().any(|path| path.len() == 1) {
            inner.data_null = true;
        }
        if inner.data_null {
            response.data = Value::Null;
        }
        response.errors.append(&mut inner.errors);
        response
    }

    /// Around one field's resolver (and each item of a list: passed through).
    pub(crate) async fn around_field(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if let QueryPathSegment::Index(_) = info.path_node.segment {
            // async-graphql runs each list item through this hook too (with a return type
            // that loses the item's nullability): the list's field settles its items.
            return next.run(ctx, info).await;
        }
        let is_root = info.path_node.parent.is_none();
        if is_root
            && self.any_pending.load(Ordering::Acquire)
            && ctx.schema_env.registry.mutation_type.as_deref() == Some(info.parent_type)
            && self.root_failed()
        {
            // `data` is null already: a later mutation would change what the client cannot see.
            return Ok(Some(Value::Null));
        }
        let return_type = info.return_type;
        let path_node = info.path_node;
        let mut value = match next.run(ctx, info).await {
            Ok(value) => value.unwrap_or_default(),
            Err(error) => {
                self.lock().errors.push(error);
                return Ok(Some(self.null_field(path_node, return_type)));
            }
        };
        if !self.any_pending.load(Ordering::Acquire) {
            return Ok(Some(value));
        }
        let path = owned_path(path_node);
        let settled = {
            let mut inner = self.lock();
            let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut inner.pending)
                .into_iter()
                .partition(|pending| directly_inside(pending, &path));
            inner.pending = others;
            mine
        };
        let mut field_is_null = false;
        for pending in &settled {
            let indices = index_segments(&pending[path.len()..pending.len() - 1]);
            if null_nearest_nullable(&mut value, return_type, &indices) {
                field_is_null = true;
            }
        }
        if field_is_null {
            return Ok(Some(self.null_field(path_node, return_type)));
        }
        Ok(Some(value))
    }

    /// The value of a field that is null (failed, or nulled by a child): null, and if the field
    /// is non-null, its parent's business.
    fn null_field(&self, path_node: &QueryPathNode<'_>, return_type: &str) -> Value {
        if is_non_null(return_type) {
            let path = owned_path(path_node);
            let mut inner = self.lock();
            if path.len() == 1 {
                inner.data_null = true;
            }
            inner.pending.push(path);
            self.any_pending.store(true, Ordering::Release);
        }
        Value::Null
    }

    fn root_failed(&self) -> bool {
        self.lock().data_null
    }
}

/// Whether `pending` is a field directly inside the field at `path`: in its object, or in an
/// item (at any list depth) of its list.
fn directly_inside(pending: &[Segment], path: &[Segment]) -> bool {
    pending.len() > path.len()
        && pending[..path.len()] == *path
        && pending[path.len()..pending.len() - 1]
            .iter()
            .all(|segment| matches!(segment, Segment::Index(_)))
}

fn index_segments(segments: &[Segment]) -> Vec<usize> {
    segments
        .iter()
        .filter_map(|segment| match segment {
            Segment::Index(index) => Some(*index),
            Segment::Key(_) => None,
        })
        .collect()
}

/// Inside `value`, a field's value of GraphQL type `ty`, the object at list `indices` holds a
/// null non-null field: nulls the nearest nullable list item on the way up. Returns true when
/// none is nullable, i.e. the field's own value must be null.
fn null_nearest_nullable(value: &mut Value, ty: &str, indices: &[usize]) -> bool {
    // The item types from the field's type down: types[d] is the type at list depth d.
    let mut types = vec![ty];
    for _ in indices {
        match list_item_type(types[types.len() - 1]) {
            Some(item) => types.push(item),
            None => return true, // not the shape the path says: be safe, null the field
        }
    }
    for depth in (1..=indices.len()).rev() {
        if !is_non_null(types[depth]) {
            if let Some(slot) = item_mut(value, &indices[..depth]) {
                *slot = Value::Null;
            }
            return false;
        }
    }
    true
}

/// The item at `indices` of nested lists, if it is still there (an outer item may be null).
fn item_mut<'v>(value: &'v mut Value, indices: &[usize]) -> Option<&'v mut Value> {
    indices.iter().try_fold(value, |value, index| match value {
        Value::List(items) => items.get_mut(*index),
        _ => None,
    })
}

fn is_non_null(ty: &str) -> bool {
    matches!(MetaTypeName::create(ty), MetaTypeName::NonNull(_))
}

/// `T` of `[T]` or `[T]!`.
fn list_item_type(ty: &str) -> Option<&str> {
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => list_item_type(inner),
        MetaTypeName::List(item) => Some(item),
        MetaTypeName::Named(_) => None,
    }
}

fn owned_path(node: &QueryPathNode<'_>) -> Vec<Segment> {
    let mut path: Vec<Segment> = std::iter::once(node)
        .chain(node.parents())
        .map(|node| match node.segment {
            QueryPathSegment::Name(name) => Segment::Key(name.to_owned()),
            QueryPathSegment::Index(index) => Segment::Index(index),
        })
        .collect();
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptySubscription, Object, Schema, SimpleObject};
    use serde_json::json;

    #[derive(SimpleObject)]
    struct Leaf {
        fine: i32,
    }

    struct Item {
        fail: bool,
    }

    #[Object]
    impl Item {
        async fn ok(&self) -> i32 {
            1
        }
        async fn strict(&self) -> async_graphql::Result<i32> {
            if self.fail {
                Err("strict failed".into())
            } else {
                Ok(2)
            }
        }
        async fn loose(&self) -> async_graphql::Result<Option<i32>> {
            Err("loose failed".into())
        }
    }

    struct Query;

    #[Object]
    impl Query {
        async fn strict(&self) -> async_graphql::Result<i32> {
            Err("root failed".into())
        }
        async fn fine(&self) -> i32 {
            7
        }
        async fn item(&self) -> Option<Item> {
            Some(Item { fail: true })
        }
        async fn strict_item(&self) -> Item {
            Item { fail: true }
        }
        async fn items(&self) -> Vec<Option<Item>> {
            vec![Some(Item { fail: false }), Some(Item { fail: true })]
        }
        async fn strict_items(&self) -> Option<Vec<Item>> {
            Some(vec![Item { fail: false }, Item { fail: true }])
        }
        async fn leaf(&self) -> Leaf {
            Leaf { fine: 1 }
        }
    }

    struct Mutation;

    #[Object]
    impl Mutation {
        async fn step(
            &self,
            ctx: &async_graphql::Context<'_>,
            fail: bool,
        ) -> async_graphql::Result<i32> {
            let ran = ctx.data_unchecked::<Arc<Mutex<Vec<bool>>>>();
            ran.lock().unwrap().push(fail);
            if fail {
                Err("step failed".into())
            } else {
                Ok(1)
            }
        }
    }

    async fn run(query: &str) -> (serde_json::Value, Vec<bool>) {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let schema = Schema::build(Query, Mutation, EmptySubscription)
            .data(ran.clone())
            .extension(NullPropagation)
            .finish();
        let response = schema.execute(query).await;
        let ran = ran.lock().unwrap().clone();
        (serde_json::to_value(&response).unwrap(), ran)
    }

    #[tokio::test]
    async fn a_failed_non_null_root_field_nulls_data() {
        let (body, _) = run("{ fine strict }").await;
        assert_eq!(body["data"], json!(null), "{body}");
        assert_eq!(body["errors"][0]["path"], json!(["strict"]));
        assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_failed_nullable_field_is_null_not_missing() {
        let (body, _) = run("{ fine item { ok loose } }").await;
        assert_eq!(
            body["data"],
            json!({ "fine": 7, "item": { "ok": 1, "loose": null } })
        );
    }

    #[tokio::test]
    async fn a_non_null_field_nulls_its_nullable_parent_only() {
        let (body, _) = run("{ fine item { ok strict } }").await;
        assert_eq!(body["data"], json!({ "fine": 7, "item": null }));
        assert_eq!(body["errors"][0]["path"], json!(["item", "strict"]));
    }

    #[tokio::test]
    async fn the_null_goes_up_through_non_null_parents() {
        let (body, _) = run("{ fine strictItem { strict } }").await;
        assert_eq!(body["data"], json!(null));
    }

    #[tokio::test]
    async fn a_nullable_list_item_takes_the_null() {
        let (body, _) = run("{ items { ok strict } }").await;
        assert_eq!(
            body["data"],
            json!({ "items": [{ "ok": 1, "strict": 2 }, null] })
        );
        assert_eq!(body["errors"][0]["path"], json!(["items", 1, "strict"]));
    }

    #[tokio::test]
    async fn non_null_items_null_the_list() {
        let (body, _) = run("{ fine strictItems { strict } }").await;
        assert_eq!(body["data"], json!({ "fine": 7, "strictItems": null }));
    }

    #[tokio::test]
    async fn a_failed_mutation_nulls_data_and_stops_the_ones_after_it() {
        let (body, ran) =
            run("mutation { a: step(fail: false) b: step(fail: true) c: step(fail: false) }").await;
        assert_eq!(body["data"], json!(null), "{body}");
        assert_eq!(body["errors"].as_array().unwrap().len(), 1);
        assert_eq!(ran, vec![false, true], "a ran, b failed, c did not run");
    }

    #[tokio::test]
    async fn no_error_no_change() {
        let (body, _) = run("{ fine leaf { fine } items { ok } }").await;
        assert_eq!(
            body,
            json!({ "data": { "fine": 7, "leaf": { "fine": 1 }, "items": [{ "ok": 1 }, { "ok": 1 }] } })
        );
    }
}
