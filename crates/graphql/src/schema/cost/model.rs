//! What the cost analysis knows of the schema: every type with its fields, their arguments and
//! return types, read once at start-up by running the full introspection query on the schema
//! itself (so it includes the introspection types and never drifts from the code).

use async_graphql::{ObjectType, Schema, SubscriptionType};
use futures_util::FutureExt as _;
use serde::Deserialize;
use std::collections::HashMap;

/// The introspection query of graphql-js `getIntrospectionQuery` with every option on
/// (descriptions, `specifiedByURL`, `isRepeatable`, deprecated input values, `isOneOf`): the
/// largest document GraphiQL and code generators send. The model is read from its answer, and
/// the introspection allowance is measured on it.
pub const FULL_INTROSPECTION_QUERY: &str = include_str!("full_introspection.graphql");

/// A type reference as introspection writes it: `[Todo!]!` is NonNull(List(NonNull(Todo))).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// A named type.
    Named(String),
    /// A list of the inner type.
    List(Box<TypeRef>),
    /// The inner type, never null.
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// The named type at the bottom of the wrappers.
    pub fn name(&self) -> &str {
        match self {
            TypeRef::Named(name) => name,
            TypeRef::List(inner) | TypeRef::NonNull(inner) => inner.name(),
        }
    }

    /// Whether a value of this type is a list (`[T]` or `[T]!`).
    pub fn is_list(&self) -> bool {
        match self {
            TypeRef::NonNull(inner) => inner.is_list(),
            TypeRef::List(_) => true,
            TypeRef::Named(_) => false,
        }
    }
}

/// An argument or input field.
#[derive(Debug)]
pub struct InputInfo {
    pub name: String,
    pub ty: TypeRef,
    /// The default in GraphQL syntax, e.g. `20`.
    pub default_value: Option<String>,
}

/// A field of an object or interface.
#[derive(Debug)]
pub struct FieldInfo {
    pub name: String,
    pub args: Vec<InputInfo>,
    pub ty: TypeRef,
}

impl FieldInfo {
    /// The argument called `name`.
    pub fn arg(&self, name: &str) -> Option<&InputInfo> {
        self.args.iter().find(|a| a.name == name)
    }
}

/// A named type.
#[derive(Debug)]
pub struct TypeInfo {
    /// The type itself as a reference (what `__type(name:)` and `types` start from).
    pub named: TypeRef,
    pub fields: Vec<FieldInfo>,
    field_index: HashMap<String, usize>,
    pub input_fields: Vec<InputInfo>,
    pub enum_values: usize,
    pub interfaces: Vec<String>,
    pub possible_types: Vec<String>,
}

impl TypeInfo {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldInfo> {
        self.field_index.get(name).map(|&i| &self.fields[i])
    }
}

/// A directive.
#[derive(Debug)]
pub struct DirectiveInfo {
    pub args: Vec<InputInfo>,
    pub locations: usize,
}

/// The whole schema.
#[derive(Debug)]
pub struct SchemaModel {
    pub types: HashMap<String, TypeInfo>,
    /// In the order introspection lists them.
    pub type_names: Vec<String>,
    pub directives: Vec<DirectiveInfo>,
    pub query_type: String,
    pub mutation_type: Option<String>,
    pub subscription_type: Option<String>,
}

impl SchemaModel {
    /// Reads the model of `schema` (built with introspection on) by introspecting it.
    pub fn of<Q, M, S>(schema: &Schema<Q, M, S>) -> SchemaModel
    where
        Q: ObjectType + 'static,
        M: ObjectType + 'static,
        S: SubscriptionType + 'static,
    {
        // Introspection resolves from the registry in memory: the future never waits.
        let response = schema
            .execute(FULL_INTROSPECTION_QUERY)
            .now_or_never()
            .expect("introspection completes without waiting");
        assert!(
            response.errors.is_empty(),
            "the full introspection query runs on the schema: {:?}",
            response.errors
        );
        let json = response.data.into_json().expect("introspection is JSON");
        let answer: Answer =
            serde_json::from_value(json).expect("introspection has the standard shape");
        answer.schema.into_model()
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "__schema")]
    schema: RawSchema,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSchema {
    query_type: RawName,
    mutation_type: Option<RawName>,
    subscription_type: Option<RawName>,
    types: Vec<RawType>,
    directives: Vec<RawDirective>,
}

#[derive(Deserialize)]
struct RawName {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawType {
    name: String,
    fields: Option<Vec<RawField>>,
    input_fields: Option<Vec<RawInput>>,
    interfaces: Option<Vec<RawName>>,
    possible_types: Option<Vec<RawName>>,
    enum_values: Option<Vec<RawName>>,
}

#[derive(Deserialize)]
struct RawField {
    name: String,
    args: Vec<RawInput>,
    #[serde(rename = "type")]
    ty: RawTypeRef,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInput {
    name: String,
    #[serde(rename = "type")]
    ty: RawTypeRef,
    default_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTypeRef {
    kind: String,
    name: Option<String>,
    of_type: Option<Box<RawTypeRef>>,
}

#[derive(Deserialize)]
struct RawDirective {
    locations: Vec<String>,
    args: Vec<RawInput>,
}

impl RawTypeRef {
    fn into_ref(self) -> TypeRef {
        let inner = || {
            self.of_type
                .map(|t| Box::new(t.into_ref()))
                .unwrap_or_else(|| Box::new(TypeRef::Named(String::new())))
        };
        match self.kind.as_str() {
            "NON_NULL" => TypeRef::NonNull(inner()),
            "LIST" => TypeRef::List(inner()),
            _ => TypeRef::Named(self.name.unwrap_or_default()),
        }
    }
}

impl RawInput {
    fn into_info(self) -> InputInfo {
        InputInfo {
            name: self.name,
            ty: self.ty.into_ref(),
            default_value: self.default_value,
        }
    }
}

fn names(list: Option<Vec<RawName>>) -> Vec<String> {
    list.unwrap_or_default()
        .into_iter()
        .map(|n| n.name)
        .collect()
}

impl RawSchema {
    fn into_model(self) -> SchemaModel {
        let mut types = HashMap::new();
        let mut type_names = Vec::new();
        for raw in self.types {
            let fields: Vec<FieldInfo> = raw
                .fields
                .unwrap_or_default()
                .into_iter()
                .map(|f| FieldInfo {
                    name: f.name,
                    args: f.args.into_iter().map(RawInput::into_info).collect(),
                    ty: f.ty.into_ref(),
                })
                .collect();
            let field_index = fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name.clone(), i))
                .collect();
            let info = TypeInfo {
                named: TypeRef::Named(raw.name.clone()),
                fields,
                field_index,
                input_fields: raw
                    .input_fields
                    .unwrap_or_default()
                    .into_iter()
                    .map(RawInput::into_info)
                    .collect(),
                enum_values: raw.enum_values.map_or(0, |v| v.len()),
                interfaces: names(raw.interfaces),
                possible_types: names(raw.possible_types),
            };
            type_names.push(raw.name.clone());
            types.insert(raw.name, info);
        }
        SchemaModel {
            types,
            type_names,
            directives: self
                .directives
                .into_iter()
                .map(|d| DirectiveInfo {
                    args: d.args.into_iter().map(RawInput::into_info).collect(),
                    locations: d.locations.len(),
                })
                .collect(),
            query_type: self.query_type.name,
            mutation_type: self.mutation_type.map(|t| t.name),
            subscription_type: self.subscription_type.map(|t| t.name),
        }
    }
}
