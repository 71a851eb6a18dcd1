//! How much memory a parsed document holds: the bound of the document cache.
//!
//! A document's text says little about its parsed size: `{a a a …}` is two bytes of text per
//! field and a few hundred bytes of syntax tree per field (a `Positioned<Selection>` is
//! ~200 bytes, plus its name, argument and directive vectors). So the cache counts every heap
//! allocation of the tree — vector and map capacities times their element size, names,
//! strings and boxes, each with the allocator's per-allocation overhead — by walking it once
//! when a document is first parsed. The walk is linear in the tree, like the parse before it.

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    BaseType, Directive, ExecutableDocument, Field, FragmentDefinition, OperationDefinition,
    Selection, SelectionSet, Type, VariableDefinition,
};
use async_graphql_value::{ConstValue, Name, Value};
use std::mem::size_of;

/// Bookkeeping a general-purpose allocator adds to each allocation (a header and rounding up
/// to its size class), on average.
const PER_ALLOCATION: usize = 16;

/// The heap bytes `document` holds (not counting the `ExecutableDocument` value itself).
pub fn parsed_bytes(document: &ExecutableDocument) -> usize {
    let mut size = match &document.operations {
        async_graphql::parser::types::DocumentOperations::Single(op) => operation(&op.node),
        async_graphql::parser::types::DocumentOperations::Multiple(ops) => {
            hash_map::<Name, Positioned<OperationDefinition>>(ops.capacity())
                + ops
                    .iter()
                    .map(|(name, op)| self::name(name) + operation(&op.node))
                    .sum::<usize>()
        }
    };
    size += hash_map::<Name, Positioned<FragmentDefinition>>(document.fragments.capacity());
    for (name, fragment) in &document.fragments {
        size += self::name(name) + fragment_definition(&fragment.node);
    }
    size
}

fn allocation(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        bytes + PER_ALLOCATION
    }
}

fn vec<T>(items: &Vec<T>) -> usize {
    allocation(items.capacity() * size_of::<T>())
}

/// A hashbrown table: buckets, one control byte per bucket and a group of trailing ones.
fn hash_map<K, V>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7).next_power_of_two();
    allocation(buckets * (size_of::<K>() + size_of::<V>()) + buckets + 16)
}

/// An `Arc<str>`: two counters and the text.
fn name(name: &Name) -> usize {
    allocation(2 * size_of::<usize>() + name.len())
}

fn positioned_name(name: &Positioned<Name>) -> usize {
    self::name(&name.node)
}

fn operation(op: &OperationDefinition) -> usize {
    vec(&op.variable_definitions)
        + op.variable_definitions
            .iter()
            .map(|v| variable_definition(&v.node))
            .sum::<usize>()
        + directives(&op.directives)
        + selection_set(&op.selection_set.node)
}

fn variable_definition(v: &VariableDefinition) -> usize {
    positioned_name(&v.name)
        + ty(&v.var_type.node)
        + directives(&v.directives)
        + v.default_value.as_ref().map_or(0, |d| const_value(&d.node))
}

fn ty(t: &Type) -> usize {
    match &t.base {
        BaseType::Named(n) => name(n),
        BaseType::List(inner) => allocation(size_of::<Type>()) + ty(inner),
    }
}

fn directives(list: &Vec<Positioned<Directive>>) -> usize {
    vec(list)
        + list
            .iter()
            .map(|d| positioned_name(&d.node.name) + arguments(&d.node.arguments))
            .sum::<usize>()
}

fn arguments(list: &Vec<(Positioned<Name>, Positioned<Value>)>) -> usize {
    vec(list)
        + list
            .iter()
            .map(|(n, v)| positioned_name(n) + value(&v.node))
            .sum::<usize>()
}

fn selection_set(set: &SelectionSet) -> usize {
    vec(&set.items)
        + set
            .items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => field(&f.node),
                Selection::FragmentSpread(s) => {
                    positioned_name(&s.node.fragment_name) + directives(&s.node.directives)
                }
                Selection::InlineFragment(i) => {
                    i.node
                        .type_condition
                        .as_ref()
                        .map_or(0, |c| positioned_name(&c.node.on))
                        + directives(&i.node.directives)
                        + selection_set(&i.node.selection_set.node)
                }
            })
            .sum::<usize>()
}

fn field(f: &Field) -> usize {
    f.alias.as_ref().map_or(0, positioned_name)
        + positioned_name(&f.name)
        + arguments(&f.arguments)
        + directives(&f.directives)
        + selection_set(&f.selection_set.node)
}

fn fragment_definition(f: &FragmentDefinition) -> usize {
    positioned_name(&f.type_condition.node.on)
        + directives(&f.directives)
        + selection_set(&f.selection_set.node)
}

/// An IndexMap: its entries (hash, key, value) and its index table.
fn index_map<V>(capacity: usize) -> usize {
    allocation(capacity * (size_of::<u64>() + size_of::<Name>() + size_of::<V>()))
        + hash_map::<usize, ()>(capacity)
}

fn value(v: &Value) -> usize {
    match v {
        Value::Variable(n) | Value::Enum(n) => name(n),
        Value::String(s) => allocation(s.capacity()),
        Value::Binary(b) => allocation(b.len()),
        Value::List(items) => vec(items) + items.iter().map(value).sum::<usize>(),
        Value::Object(map) => {
            index_map::<Value>(map.capacity())
                + map.iter().map(|(k, v)| name(k) + value(v)).sum::<usize>()
        }
        Value::Null | Value::Number(_) | Value::Boolean(_) => 0,
    }
}

fn const_value(v: &ConstValue) -> usize {
    match v {
        ConstValue::Enum(n) => name(n),
        ConstValue::String(s) => allocation(s.capacity()),
        ConstValue::Binary(b) => allocation(b.len()),
        ConstValue::List(items) => vec(items) + items.iter().map(const_value).sum::<usize>(),
        ConstValue::Object(map) => {
            index_map::<ConstValue>(map.capacity())
                + map
                    .iter()
                    .map(|(k, v)| name(k) + const_value(v))
                    .sum::<usize>()
        }
        ConstValue::Null | ConstValue::Number(_) | ConstValue::Boolean(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(text).unwrap()
    }

    #[test]
    fn the_size_grows_with_every_field_far_beyond_the_text() {
        let ten = format!("{{ {} }}", "a ".repeat(10));
        let thousand = format!("{{ {} }}", "a ".repeat(1000));
        let small = parsed_bytes(&parse(&ten));
        let large = parsed_bytes(&parse(&thousand));
        // Each field is at least its node in the selection vector plus its name.
        let per_field = size_of::<Positioned<Selection>>();
        assert!(large >= 1000 * per_field, "{large} bytes for 1,000 fields");
        assert!(
            large > 50 * thousand.len(),
            "{large} bytes for {} bytes of text",
            thousand.len()
        );
        assert!(large > 50 * small, "{small} vs {large}");
    }

    #[test]
    fn arguments_variables_fragments_and_directives_are_counted() {
        let bare = parsed_bytes(&parse("query { todos { id } }"));
        let full = parsed_bytes(&parse(
            "query Q($after: String = \"x\", $ids: [ID!]) @a(b: 1) { \
               todos(first: 20, after: $after, filter: { search: \"milk\", tags: [A, B] }) \
                 @include(if: true) { ...F ... on Todo { id } } } \
             fragment F on Todo { title }",
        ));
        assert!(full > bare + 1000, "{bare} vs {full}");
    }
}
