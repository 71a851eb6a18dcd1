//! Every input of every request meets [`todoql_domain::input`]'s rules before any resolver runs: each
//! string (in the document or in a variable) is text of the kind its field allows, and each
//! `DateTime` is an instant both databases hold; each number and boolean fits its built-in
//! scalar (an `Int` in 32 bits, no string where an `Int` goes, an `ID` a string or an integer),
//! so that a value that cannot be coerced is refused before execution, like any request error,
//! instead of failing in a field without naming its argument. A refusal is BAD_USER_INPUT with
//! `extensions.field` naming the argument or input field, the same on SQLite and PostgreSQL.
//!
//! Checking here, once, instead of in each resolver means a field added later is covered
//! without anyone remembering to: a string is one line unless [`MULTI_LINE`] or [`AS_TYPED`]
//! says otherwise. Types come from the schema's registry (async-graphql's `registry` module is
//! public but undocumented; the crate is pinned to one version).
//!
//! The walk is linear in the document and the variables: each operation and each fragment
//! definition is walked once, on its own (spreads are not followed). A variable is checked
//! where it is used, against the value the request gives or, when absent, every default the
//! document declares for that name, so whichever operation runs, its values were checked.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    Directive, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::registry::{MetaInputValue, MetaType, MetaTypeName, Registry};
use async_graphql::{
    ErrorExtensionValues, InputType, Name, Pos, Positioned, ServerError, ServerResult, Value,
    Variables,
};
use async_graphql_value::Value as Literal;
use std::collections::HashMap;
use std::sync::Arc;
use todoql_domain::input::{self, TextKind};

/// Input fields of free text, where tabs and line breaks are allowed: `(input type, field)`.
const MULTI_LINE: &[(&str, &str)] = &[
    ("CreateTodoInput", "description"),
    ("UpdateTodoInput", "description"),
];

/// Passwords compared with a stored hash, taken as typed (see [`TextKind::AsTyped`]).
const AS_TYPED: &[(&str, &str)] = &[
    ("SignInInput", "password"),
    ("ChangePasswordInput", "currentPassword"),
    ("RequestEmailChangeInput", "currentPassword"),
    ("DeleteAccountInput", "password"),
];

/// The check as an extension on its own (its tests use it); the schema calls
/// [`check_document`] from its one extension, `hooks::SchemaHooks`.
pub struct InputCheck;

impl ExtensionFactory for InputCheck {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(InputCheck)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for InputCheck {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check_document(&ctx.schema_env.registry, &document, variables)?;
        Ok(document)
    }
}

/// Checks every input of `document` with `variables`; the first refusal is the error.
pub fn check_document(
    registry: &Registry,
    document: &ExecutableDocument,
    variables: &Variables,
) -> ServerResult<()> {
    let mut defaults: HashMap<&str, Vec<&Value>> = HashMap::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                defaults
                    .entry(definition.node.name.node.as_str())
                    .or_default()
                    .push(&default.node);
            }
        }
    }
    let walk = Walk {
        registry,
        variables,
        defaults,
    };
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        let root = match operation.ty {
            OperationType::Query => Some(registry.query_type.as_str()),
            OperationType::Mutation => registry.mutation_type.as_deref(),
            OperationType::Subscription => registry.subscription_type.as_deref(),
        };
        walk.directives(&operation.directives)?;
        walk.selection_set(&operation.selection_set.node, root)?;
    }
    for (_, fragment) in document.fragments.iter() {
        let fragment = &fragment.node;
        walk.directives(&fragment.directives)?;
        walk.selection_set(
            &fragment.selection_set.node,
            Some(fragment.type_condition.node.on.node.as_str()),
        )?;
    }
    Ok(())
}

/// Where a value goes: an argument, or a field of an input object type.
#[derive(Clone, Copy)]
struct Slot<'a> {
    /// The input object type, for a field of one.
    input_type: Option<&'a str>,
    /// The argument's or field's name: `extensions.field`.
    name: &'a str,
}

impl Slot<'_> {
    fn text_kind(self) -> TextKind {
        let Some(input_type) = self.input_type else {
            return TextKind::Line;
        };
        let key = (input_type, self.name);
        if MULTI_LINE.contains(&key) {
            TextKind::MultiLine
        } else if AS_TYPED.contains(&key) {
            TextKind::AsTyped
        } else {
            TextKind::Line
        }
    }
}

struct Walk<'a> {
    registry: &'a Registry,
    variables: &'a Variables,
    defaults: HashMap<&'a str, Vec<&'a Value>>,
}

impl Walk<'_> {
    fn selection_set(&self, set: &SelectionSet, parent: Option<&str>) -> ServerResult<()> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let meta = parent
                        .and_then(|parent| self.registry.types.get(parent))
                        .and_then(|parent| parent.field_by_name(field.name.node.as_str()));
                    self.arguments(&field.arguments, meta.map(|meta| &meta.args))?;
                    self.directives(&field.directives)?;
                    let child = meta.map(|meta| MetaTypeName::concrete_typename(&meta.ty));
                    self.selection_set(&field.selection_set.node, child)?;
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = fragment
                        .type_condition
                        .as_ref()
                        .map(|condition| condition.node.on.node.as_str())
                        .or(parent);
                    self.directives(&fragment.directives)?;
                    self.selection_set(&fragment.selection_set.node, on)?;
                }
                // The fragment itself is walked once, as a definition.
                Selection::FragmentSpread(spread) => self.directives(&spread.node.directives)?,
            }
        }
        Ok(())
    }

    fn directives(&self, directives: &[Positioned<Directive>]) -> ServerResult<()> {
        for directive in directives {
            let declared = self
                .registry
                .directives
                .get(directive.node.name.node.as_str())
                .map(|meta| &meta.args);
            self.arguments(&directive.node.arguments, declared)?;
        }
        Ok(())
    }

    /// The arguments of a field or directive, typed by its `declared` arguments when known.
    fn arguments(
        &self,
        arguments: &[(Positioned<Name>, Positioned<Literal>)],
        declared: Option<&IndexMap<String, MetaInputValue>>,
    ) -> ServerResult<()> {
        for (name, value) in arguments {
            let ty = declared
                .and_then(|declared| declared.get(name.node.as_str()))
                .map(|arg| arg.ty.as_str());
            let slot = Slot {
                input_type: None,
                name: name.node.as_str(),
            };
            self.value(&value.node, ty, slot, value.pos)?;
        }
        Ok(())
    }

    /// `value` (a literal or a variable's value) of GraphQL type `ty` (unknown: `None`) in `slot`.
    fn value<V: Input>(
        &self,
        value: &V,
        ty: Option<&str>,
        slot: Slot<'_>,
        pos: Pos,
    ) -> ServerResult<()> {
        match value.shape() {
            Shape::Variable(name) => match self.variables.get(name) {
                Some(given) => self.value(given, ty, slot, pos),
                None => self
                    .defaults
                    .get(name.as_str())
                    .into_iter()
                    .flatten()
                    .try_for_each(|default| self.value(*default, ty, slot, pos)),
            },
            Shape::String(text) => self.leaf(text, ty, slot, pos),
            Shape::Number(number) => {
                scalar_fits(ty, Scalar::Number(number)).map_err(|why| refusal(slot, why, pos))
            }
            Shape::Boolean => {
                scalar_fits(ty, Scalar::Boolean).map_err(|why| refusal(slot, why, pos))
            }
            Shape::List(items) => {
                let item_type = ty.map(list_item_type);
                items
                    .iter()
                    .try_for_each(|item| self.value(item, item_type, slot, pos))
            }
            Shape::Object(fields) => {
                let input = ty
                    .map(MetaTypeName::concrete_typename)
                    .and_then(|name| self.registry.types.get(name));
                if V::IS_VARIABLE_VALUE
                    && let Some(MetaType::InputObject {
                        name: input_type,
                        input_fields,
                        ..
                    }) = input
                {
                    // A variable's object must give every required field (in a literal, that
                    // is validation's rule and error).
                    let missing = input_fields.values().find(|field| {
                        field.ty.ends_with('!')
                            && field.default_value.is_none()
                            && !fields.contains_key(field.name.as_str())
                    });
                    if let Some(field) = missing {
                        let slot = Slot {
                            input_type: Some(input_type.as_str()),
                            name: field.name.as_str(),
                        };
                        return Err(refusal(slot, "is required", pos));
                    }
                }
                for (name, field) in fields {
                    let (input_type, field_type) = match input {
                        Some(MetaType::InputObject {
                            name: input_type,
                            input_fields,
                            ..
                        }) => (
                            Some(input_type.as_str()),
                            input_fields.get(name.as_str()).map(|f| f.ty.as_str()),
                        ),
                        _ => (None, None),
                    };
                    let slot = Slot {
                        input_type,
                        name: name.as_str(),
                    };
                    self.value(field, field_type, slot, pos)?;
                }
                Ok(())
            }
            Shape::Other => Ok(()),
        }
    }

    fn leaf(&self, text: &str, ty: Option<&str>, slot: Slot<'_>, pos: Pos) -> ServerResult<()> {
        scalar_fits(ty, Scalar::String).map_err(|why| refusal(slot, why, pos))?;
        input::check_text(text, slot.text_kind()).map_err(|why| refusal(slot, why, pos))?;
        let date_time = <crate::schema::scalars::DateTime as InputType>::type_name();
        if ty.map(MetaTypeName::concrete_typename) == Some(date_time.as_ref()) {
            input::parse_instant(text).map_err(|why| refusal(slot, why, pos))?;
        }
        Ok(())
    }
}

/// A leaf value, as far as the built-in scalars care.
enum Scalar<'a> {
    String,
    Number(&'a async_graphql::Number),
    Boolean,
}

/// Whether a leaf value can be coerced to the built-in scalar `ty` is (GraphQL spec 3.5): the
/// refusal's reason if not. Other types (enums, input objects, custom scalars) are left to
/// validation and to their own parsers.
fn scalar_fits(ty: Option<&str>, value: Scalar<'_>) -> Result<(), &'static str> {
    let Some(ty) = ty.map(MetaTypeName::concrete_typename) else {
        return Ok(());
    };
    let integer = |n: &async_graphql::Number| n.as_i64().or_else(|| n.as_u64().map(|_| i64::MAX));
    match (ty, value) {
        ("Int", Scalar::Number(n)) => match integer(n) {
            Some(n) if i32::try_from(n).is_ok() => Ok(()),
            Some(_) => Err("must be an integer from -2147483648 to 2147483647"),
            None => Err("must be an integer, not a fraction"),
        },
        ("Int", _) => Err("must be an integer"),
        ("Float", Scalar::Number(_)) => Ok(()),
        ("Float", _) => Err("must be a number"),
        ("Boolean", Scalar::Boolean) => Ok(()),
        ("Boolean", _) => Err("must be true or false"),
        ("ID", Scalar::String) => Ok(()),
        ("ID", Scalar::Number(n)) if integer(n).is_some() => Ok(()),
        ("ID", _) => Err("must be an ID (a string)"),
        ("String" | "DateTime", Scalar::String) => Ok(()),
        ("String" | "DateTime", _) => Err("must be a string"),
        _ => Ok(()),
    }
}

/// The type of a list's items; a single value given for a list type stands for its one item.
fn list_item_type(ty: &str) -> &str {
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => list_item_type(inner),
        MetaTypeName::List(item) => item,
        MetaTypeName::Named(_) => ty,
    }
}

fn refusal(slot: Slot<'_>, why: &str, pos: Pos) -> ServerError {
    let mut error = ServerError::new(format!("\"{}\" {why}.", slot.name), Some(pos));
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", crate::ErrorCode::BadUserInput.as_str());
    extensions.set("field", slot.name);
    error.extensions = Some(extensions);
    error
}

/// What the walk needs to see of a literal (which may name variables) or of a variable's value.
enum Shape<'a, V> {
    Variable(&'a Name),
    String(&'a str),
    List(&'a [V]),
    Object(&'a IndexMap<Name, V>),
    Number(&'a async_graphql::Number),
    Boolean,
    Other,
}

trait Input: Sized {
    /// Whether this is a variable's value (JSON) rather than a literal in the document.
    const IS_VARIABLE_VALUE: bool;
    fn shape(&self) -> Shape<'_, Self>;
}

impl Input for Literal {
    const IS_VARIABLE_VALUE: bool = false;
    fn shape(&self) -> Shape<'_, Self> {
        match self {
            Literal::Variable(name) => Shape::Variable(name),
            Literal::String(text) => Shape::String(text),
            Literal::List(items) => Shape::List(items),
            Literal::Object(fields) => Shape::Object(fields),
            Literal::Number(number) => Shape::Number(number),
            Literal::Boolean(_) => Shape::Boolean,
            _ => Shape::Other,
        }
    }
}

impl Input for Value {
    const IS_VARIABLE_VALUE: bool = true;
    fn shape(&self) -> Shape<'_, Self> {
        match self {
            Value::String(text) => Shape::String(text),
            Value::List(items) => Shape::List(items),
            Value::Object(fields) => Shape::Object(fields),
            Value::Number(number) => Shape::Number(number),
            Value::Boolean(_) => Shape::Boolean,
            _ => Shape::Other,
        }
    }
}
