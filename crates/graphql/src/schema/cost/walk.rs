//! The cost of a document with every fragment expanded where it is spread, computed in time
//! linear in the document: the cost of a selection set in a given context (the type it selects
//! on, the page size its lists inherit) is computed once and remembered, so a fragment spread a
//! million times over is walked once per context.
//!
//! The rules:
//! - every field costs 1, `__typename` included;
//! - a list field costs n × (1 + its selection), where n is its own `first` (1..=100), the
//!   `first` of the connection it belongs to (`todos(first: 50) { nodes { … } }`: the `nodes`
//!   and `edges` lists count 50), or the default page size 20 for other lists;
//! - a field with a `first` argument (a connection) costs [`CONNECTION_COST`] more, for its own
//!   statements, whatever its page size;
//! - introspection (`__schema`, `__type`) is counted against the schema itself, list by list
//!   (`types` counts each type, `fields` each field of that type, …), so its cost is the size
//!   of the answer; it has its own budget (see [`super::CostAnalyzer`]).

use super::model::{DirectiveInfo, FieldInfo, InputInfo, SchemaModel, TypeInfo, TypeRef};
use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationType, Selection, SelectionSet, TypeCondition,
};
use async_graphql::{Positioned, Value, Variables};

/// A variable's or literal's value (async-graphql's `Value` is the constant one).
type ConstValue = Value;
use std::collections::{HashMap, HashSet};

/// Page size of list fields that have no `first` of their own and belong to no connection.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// What a connection's own statements (its page and its count) cost, whatever its page size:
/// without it a thousand aliases of `todos(first: 1) { totalCount }` would cost 2 each and run
/// 2,000 statements.
pub const CONNECTION_COST: u64 = 20;
/// Largest page size counted: the resolvers refuse a larger `first` (BAD_USER_INPUT) before
/// reading anything, so counting it higher would only hide that clearer error.
pub const MAX_PAGE_SIZE: u64 = todoql_domain::paging::page::MAX_PAGE_SIZE as u64;
/// Deepest nesting of selection sets and fragment spreads the walk follows (its recursion
/// bound; async-graphql refuses deeper than 32 later anyway).
pub const MAX_WALK_DEPTH: usize = 64;

/// What a document costs: our own data, and introspection, each against its own budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Fields of our own types (and `__schema`/`__type` themselves).
    pub data: u64,
    /// Values an introspection answer holds.
    pub introspection: u64,
}

impl Cost {
    fn add(self, other: Cost) -> Cost {
        Cost {
            data: self.data.saturating_add(other.data),
            introspection: self.introspection.saturating_add(other.introspection),
        }
    }

    fn times(self, n: u64) -> Cost {
        Cost {
            data: self.data.saturating_mul(n),
            introspection: self.introspection.saturating_mul(n),
        }
    }
}

/// Why the walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkError {
    /// The data cost went over its budget.
    TooComplex,
    /// The introspection cost went over its budget.
    IntrospectionTooLarge,
    /// A fragment spreads itself, directly or through others.
    FragmentCycle(String),
    /// Selections and spreads nest deeper than [`MAX_WALK_DEPTH`].
    TooDeep,
}

/// What one walk found.
#[derive(Debug)]
pub struct WalkOutcome {
    /// The cost, or why the walk stopped.
    pub result: Result<Cost, WalkError>,
    /// Whether a variable's value was consulted (a `first: $n`, a `__type(name: $t)`): the
    /// result then holds only for these variables.
    pub used_variables: bool,
}

/// Walks every operation of `document` against `budget`. `variables` are the request's; `None`
/// walks with each variable at its default (and says whether any variable mattered).
pub fn walk(
    model: &SchemaModel,
    document: &ExecutableDocument,
    variables: Option<&Variables>,
    budget: Cost,
) -> WalkOutcome {
    let mut walker = Walker {
        model,
        document,
        variables,
        defaults: variable_defaults(document),
        budget,
        memo: HashMap::new(),
        spreading: HashSet::new(),
        depth: 0,
        used_variables: false,
    };
    let result = walker.operations();
    WalkOutcome {
        result,
        used_variables: walker.used_variables,
    }
}

/// Every variable's default, across operations (the largest page size wins where two
/// operations give one variable different defaults: the walk shares fragments between them).
fn variable_defaults(document: &ExecutableDocument) -> HashMap<&str, &ConstValue> {
    let mut defaults: HashMap<&str, &ConstValue> = HashMap::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                let name = definition.node.name.node.as_str();
                let larger = match (defaults.get(name).copied(), &default.node) {
                    (Some(ConstValue::Number(old)), ConstValue::Number(new)) => {
                        new.as_i64() > old.as_i64()
                    }
                    (Some(_), _) => false,
                    (None, _) => true,
                };
                if larger {
                    defaults.insert(name, &default.node);
                }
            }
        }
    }
    defaults
}

/// What a selection set selects on.
#[derive(Clone, Copy)]
enum Ctx<'m> {
    /// One of our types (None: unknown, counted by structure alone), with the page size that
    /// its list fields inherit from a connection.
    Data {
        ty: Option<&'m TypeInfo>,
        page: Option<u64>,
    },
    /// `__Schema`.
    Schema,
    /// `__Type` for this type reference.
    Type(&'m TypeRef),
    /// `__Field`.
    Field(&'m FieldInfo),
    /// `__InputValue`.
    Input(&'m InputInfo),
    /// `__Directive`.
    Directive(&'m DirectiveInfo),
    /// Introspection objects whose fields are all leaves (`__EnumValue`), or null objects.
    Leaves,
}

impl Ctx<'_> {
    /// Identity for the memo: a tag, the model object's address, the page size.
    fn key(&self) -> (u8, usize, u64) {
        fn addr<T>(value: &T) -> usize {
            std::ptr::from_ref(value) as usize
        }
        match self {
            Ctx::Data { ty, page } => (0, ty.map_or(0, addr), page.map_or(0, |p| p + 1)),
            Ctx::Schema => (1, 0, 0),
            Ctx::Type(r) => (2, addr(*r), 0),
            Ctx::Field(f) => (3, addr(*f), 0),
            Ctx::Input(i) => (4, addr(*i), 0),
            Ctx::Directive(d) => (5, addr(*d), 0),
            Ctx::Leaves => (6, 0, 0),
        }
    }

    /// One field's own cost in this context.
    fn one(&self) -> Cost {
        match self {
            Ctx::Data { .. } => Cost {
                data: 1,
                introspection: 0,
            },
            _ => Cost {
                data: 0,
                introspection: 1,
            },
        }
    }
}

struct Walker<'a, 'm> {
    model: &'m SchemaModel,
    document: &'a ExecutableDocument,
    variables: Option<&'a Variables>,
    defaults: HashMap<&'a str, &'a ConstValue>,
    budget: Cost,
    memo: HashMap<(usize, (u8, usize, u64)), Cost>,
    spreading: HashSet<&'a str>,
    depth: usize,
    used_variables: bool,
}

impl<'a, 'm> Walker<'a, 'm> {
    fn operations(&mut self) -> Result<Cost, WalkError> {
        let mut total = Cost::default();
        for (_, operation) in self.document.operations.iter() {
            let root = match operation.node.ty {
                OperationType::Query => Some(self.model.query_type.as_str()),
                OperationType::Mutation => self.model.mutation_type.as_deref(),
                OperationType::Subscription => self.model.subscription_type.as_deref(),
            };
            let ctx = Ctx::Data {
                ty: root.and_then(|name| self.model.types.get(name)),
                page: None,
            };
            let cost = self.selection_set(&operation.node.selection_set.node, ctx)?;
            total = self.within(total.add(cost))?;
        }
        Ok(total)
    }

    /// `cost`, or the error of the budget it exceeds. Every part of a cost is at most the
    /// whole, so a part over budget ends the walk at once.
    fn within(&self, cost: Cost) -> Result<Cost, WalkError> {
        if cost.data > self.budget.data {
            Err(WalkError::TooComplex)
        } else if cost.introspection > self.budget.introspection {
            Err(WalkError::IntrospectionTooLarge)
        } else {
            Ok(cost)
        }
    }

    fn selection_set(&mut self, set: &'a SelectionSet, ctx: Ctx<'m>) -> Result<Cost, WalkError> {
        if set.items.is_empty() {
            return Ok(Cost::default());
        }
        let key = (std::ptr::from_ref(set) as usize, ctx.key());
        if let Some(cost) = self.memo.get(&key) {
            return Ok(*cost);
        }
        self.depth += 1;
        if self.depth > MAX_WALK_DEPTH {
            return Err(WalkError::TooDeep);
        }
        let mut total = Cost::default();
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => self.field(&field.node, ctx)?,
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let ctx = self.on_type(ctx, fragment.type_condition.as_ref());
                    self.selection_set(&fragment.selection_set.node, ctx)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match self.document.fragments.get(name) {
                        // Validation reports the unknown fragment.
                        None => ctx.one(),
                        Some(fragment) => {
                            if !self.spreading.insert(name.as_str()) {
                                return Err(WalkError::FragmentCycle(name.to_string()));
                            }
                            let fragment = &fragment.node;
                            let ctx = self.on_type(ctx, Some(&fragment.type_condition));
                            let cost = self.selection_set(&fragment.selection_set.node, ctx);
                            self.spreading.remove(name.as_str());
                            cost?
                        }
                    }
                }
            };
            total = self.within(total.add(cost))?;
        }
        self.depth -= 1;
        self.memo.insert(key, total);
        Ok(total)
    }

    /// The context inside a fragment: our types switch to the type condition (keeping the
    /// inherited page size); introspection objects stay what they are.
    fn on_type(&self, ctx: Ctx<'m>, condition: Option<&Positioned<TypeCondition>>) -> Ctx<'m> {
        match (ctx, condition) {
            (Ctx::Data { page, .. }, Some(condition)) => Ctx::Data {
                ty: self.model.types.get(condition.node.on.node.as_str()),
                page,
            },
            _ => ctx,
        }
    }

    fn field(&mut self, field: &'a Field, ctx: Ctx<'m>) -> Result<Cost, WalkError> {
        let name = field.name.node.as_str();
        let sub = &field.selection_set.node;
        let one = ctx.one();
        if name == "__typename" {
            return Ok(one);
        }
        let model = self.model;
        let cost = match ctx {
            Ctx::Data { ty, page } => match name {
                "__schema" => one.add(self.selection_set(sub, Ctx::Schema)?),
                "__type" => {
                    let target = self
                        .string_argument(field, "name")
                        .and_then(|name| model.types.get(&name))
                        .map_or(Ctx::Leaves, |t| Ctx::Type(&t.named));
                    one.add(self.selection_set(sub, target)?)
                }
                _ => match ty.and_then(|t| t.field(name)) {
                    None => one.add(self.selection_set(
                        sub,
                        Ctx::Data {
                            ty: None,
                            page: None,
                        },
                    )?),
                    Some(info) => self.data_field(field, info, page)?,
                },
            },
            Ctx::Schema => match name {
                "types" => {
                    let items = model
                        .type_names
                        .iter()
                        .map(|n| Ctx::Type(&model.types[n].named));
                    self.list(sub, items)?
                }
                "queryType" => self.named_type(sub, Some(&model.query_type))?,
                "mutationType" => self.named_type(sub, model.mutation_type.as_ref())?,
                "subscriptionType" => self.named_type(sub, model.subscription_type.as_ref())?,
                "directives" => self.list(sub, model.directives.iter().map(Ctx::Directive))?,
                _ => self.leaf(sub, one)?,
            },
            Ctx::Type(TypeRef::NonNull(inner) | TypeRef::List(inner)) => match name {
                "ofType" => one.add(self.selection_set(sub, Ctx::Type(inner))?),
                _ => self.leaf(sub, one)?,
            },
            Ctx::Type(TypeRef::Named(type_name)) => match model.types.get(type_name) {
                None => self.leaf(sub, one)?,
                Some(ty) => match name {
                    "fields" => self.list(sub, ty.fields.iter().map(Ctx::Field))?,
                    "inputFields" => self.list(sub, ty.input_fields.iter().map(Ctx::Input))?,
                    "interfaces" => self.type_list(sub, &ty.interfaces)?,
                    "possibleTypes" => self.type_list(sub, &ty.possible_types)?,
                    "enumValues" => self.list(sub, (0..ty.enum_values).map(|_| Ctx::Leaves))?,
                    _ => self.leaf(sub, one)?,
                },
            },
            Ctx::Field(info) => match name {
                "args" => self.list(sub, info.args.iter().map(Ctx::Input))?,
                "type" => one.add(self.selection_set(sub, Ctx::Type(&info.ty))?),
                _ => self.leaf(sub, one)?,
            },
            Ctx::Input(info) => match name {
                "type" => one.add(self.selection_set(sub, Ctx::Type(&info.ty))?),
                _ => self.leaf(sub, one)?,
            },
            Ctx::Directive(info) => match name {
                "args" => self.list(sub, info.args.iter().map(Ctx::Input))?,
                "locations" => self.list(sub, (0..info.locations).map(|_| Ctx::Leaves))?,
                _ => self.leaf(sub, one)?,
            },
            Ctx::Leaves => self.leaf(sub, one)?,
        };
        self.within(cost)
    }

    /// A field of our own types.
    fn data_field(
        &mut self,
        field: &'a Field,
        info: &'m FieldInfo,
        inherited_page: Option<u64>,
    ) -> Result<Cost, WalkError> {
        let own_page = info.arg("first").map(|arg| self.page_size(field, arg));
        let statements = Cost {
            data: if own_page.is_some() {
                CONNECTION_COST
            } else {
                0
            },
            introspection: 0,
        };
        let inner = self.model.types.get(info.ty.name());
        let sub = &field.selection_set.node;
        let one = Cost {
            data: 1,
            introspection: 0,
        };
        if info.ty.is_list() {
            let n = own_page.or(inherited_page).unwrap_or(DEFAULT_PAGE_SIZE);
            let each = self.selection_set(
                sub,
                Ctx::Data {
                    ty: inner,
                    page: None,
                },
            )?;
            Ok(statements.add(one.add(each).times(n)))
        } else {
            let page = own_page;
            let children = self.selection_set(sub, Ctx::Data { ty: inner, page })?;
            Ok(statements.add(one.add(children)))
        }
    }

    /// A field whose value is a leaf (or null): 1, and its selection counted by structure
    /// (validation walks it even though nothing resolves it).
    fn leaf(&mut self, sub: &'a SelectionSet, one: Cost) -> Result<Cost, WalkError> {
        Ok(one.add(self.selection_set(sub, Ctx::Leaves)?))
    }

    /// An introspection list: each item costs 1 and its selection in the item's context.
    fn list(
        &mut self,
        sub: &'a SelectionSet,
        items: impl Iterator<Item = Ctx<'m>>,
    ) -> Result<Cost, WalkError> {
        let one = Ctx::Leaves.one();
        let mut total = Cost::default();
        for item in items {
            let cost = one.add(self.selection_set(sub, item)?);
            total = self.within(total.add(cost))?;
        }
        if total == Cost::default() {
            // An empty list still costs its field, and validation walks its selection.
            return self.leaf(sub, one);
        }
        Ok(total)
    }

    fn type_list(&mut self, sub: &'a SelectionSet, names: &'m [String]) -> Result<Cost, WalkError> {
        let model = self.model;
        let items = names
            .iter()
            .filter_map(|n| model.types.get(n))
            .map(|t| Ctx::Type(&t.named));
        self.list(sub, items)
    }

    fn named_type(
        &mut self,
        sub: &'a SelectionSet,
        name: Option<&'m String>,
    ) -> Result<Cost, WalkError> {
        let one = Ctx::Leaves.one();
        match name.and_then(|n| self.model.types.get(n)) {
            Some(ty) => Ok(one.add(self.selection_set(sub, Ctx::Type(&ty.named))?)),
            None => self.leaf(sub, one),
        }
    }

    /// The page size a `first` argument asks for: the literal, the variable's value (or its
    /// default), else the argument's default; within 1..=MAX_PAGE_SIZE.
    fn page_size(&mut self, field: &'a Field, arg: &'m InputInfo) -> u64 {
        let asked = match self.argument(field, "first") {
            Some(ConstValue::Number(n)) => n.as_i64(),
            _ => None,
        };
        let asked = asked.or_else(|| {
            arg.default_value
                .as_deref()
                .and_then(|d| d.parse::<i64>().ok())
        });
        asked.map_or(DEFAULT_PAGE_SIZE, |n| {
            u64::try_from(n).unwrap_or(1).clamp(1, MAX_PAGE_SIZE)
        })
    }

    /// An argument's value, its variables replaced by their values (or defaults); `None` when
    /// absent or when a variable it holds has neither.
    fn argument(&mut self, field: &'a Field, name: &str) -> Option<ConstValue> {
        let value = &field.get_argument(name)?.node;
        let (variables, defaults) = (self.variables, &self.defaults);
        let mut used = false;
        let resolved = value
            .clone()
            .into_const_with(|variable| {
                used = true;
                variables
                    .and_then(|vars| vars.get(&variable))
                    .or_else(|| defaults.get(variable.as_str()).copied())
                    .cloned()
                    .ok_or(())
            })
            .ok();
        self.used_variables |= used;
        resolved
    }

    /// A string argument (a literal, or a variable's value or default).
    fn string_argument(&mut self, field: &'a Field, name: &str) -> Option<String> {
        match self.argument(field, name) {
            Some(ConstValue::String(s)) => Some(s),
            _ => None,
        }
    }
}
