use super::walk::Cost;
use super::{CostAnalyzer, CostLimits};
use crate::schema::{SchemaLimits, cost_analyzer};
use async_graphql::Variables;
use serde_json::json;
use std::sync::OnceLock;
use std::time::Instant;

fn analyzer() -> &'static CostAnalyzer {
    static ANALYZER: OnceLock<CostAnalyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| cost_analyzer(SchemaLimits::default()))
}

fn data_cost(query: &str, variables: serde_json::Value) -> u64 {
    cost(query, variables).data
}

fn cost(query: &str, variables: serde_json::Value) -> Cost {
    let analyzer = CostAnalyzer::new(
        crate::schema::cost::model::SchemaModel::of(&crate::schema::builder().finish()),
        CostLimits {
            max_complexity: usize::MAX,
            max_tokens: usize::MAX,
        },
    );
    let analyzed = analyzer.analyze(query).unwrap();
    analyzer
        .cost(&analyzed, &Variables::from_json(variables))
        .unwrap()
}

/// `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } … fragment Fn on Query { __typename }`
fn fan_out(levels: usize) -> String {
    let mut query = String::from("query { ...F0 }");
    for i in 0..levels {
        query.push_str(&format!(
            " fragment F{i} on Query {{ ...F{next} ...F{next} }}",
            next = i + 1
        ));
    }
    query.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    query
}

#[test]
fn every_field_costs_one_typename_included() {
    assert_eq!(data_cost("{ me { id email } }", json!({})), 3);
    assert_eq!(data_cost("{ a: __typename b: __typename }", json!({})), 2);
    assert_eq!(
        data_cost("{ authConfig { passwordSignIn __typename } }", json!({})),
        3
    );
}

#[test]
fn fragments_cost_what_they_hold_each_time_they_are_spread() {
    assert_eq!(data_cost(&fan_out(3), json!({})), 8);
    assert_eq!(data_cost(&fan_out(40), json!({})), 1 << 40);
    assert_eq!(
        data_cost(
            "{ me { ...U ...U } } fragment U on User { id ... on User { email } }",
            json!({})
        ),
        1 + 2 * 2
    );
}

#[test]
fn a_connection_multiplies_its_rows_by_first() {
    // todos 1 + its statements 20 + totalCount 1 + pageInfo (1 + 1) + nodes 100 × (1 + 2)
    assert_eq!(
        data_cost(
            "{ todos(first: 100) { totalCount pageInfo { hasNextPage } nodes { id title } } }",
            json!({})
        ),
        1 + 20 + 1 + 2 + 300
    );
    // edges 5 × (1 + cursor 1 + node (1 + 1))
    assert_eq!(
        data_cost(
            "{ todos(first: 5) { edges { cursor node { id } } } }",
            json!({})
        ),
        1 + 20 + 5 * 4
    );
    // The default page size of todos is 20.
    assert_eq!(
        data_cost("{ todos { nodes { id } } }", json!({})),
        1 + 20 + 20 * 2
    );
}

#[test]
fn a_connection_costs_its_statements_however_small_its_page() {
    let one = data_cost("{ todos(first: 1) { totalCount } }", json!({}));
    assert_eq!(one, 1 + 20 + 1);
    let aliases: String = (0..100)
        .map(|i| format!("a{i}: todos(first: 1) {{ totalCount }} "))
        .collect();
    assert_eq!(data_cost(&format!("{{ {aliases} }}"), json!({})), 100 * one);
}

#[test]
fn first_from_a_variable_is_counted_with_its_value() {
    let query = "query($n: Int) { todos(first: $n) { nodes { id } } }";
    assert_eq!(data_cost(query, json!({ "n": 5 })), 21 + 5 * 2);
    assert_eq!(data_cost(query, json!({ "n": 100 })), 21 + 100 * 2);
    assert_eq!(data_cost(query, json!({})), 21 + 20 * 2);
    let with_default = "query($n: Int = 50) { todos(first: $n) { nodes { id } } }";
    assert_eq!(data_cost(with_default, json!({})), 21 + 50 * 2);
}

#[test]
fn page_sizes_are_counted_within_what_the_resolvers_accept() {
    let query = "query($n: Int) { todos(first: $n) { nodes { id } } }";
    // Resolvers refuse these with BAD_USER_INPUT on `first`, before reading anything.
    assert_eq!(data_cost(query, json!({ "n": 1_000_000 })), 21 + 100 * 2);
    // Never less than one row: validation still walks what a zero-row page selects.
    assert_eq!(data_cost(query, json!({ "n": 0 })), 21 + 2);
    assert_eq!(data_cost(query, json!({ "n": -7 })), 21 + 2);
}

#[test]
fn lists_without_first_count_the_default_page_size() {
    assert_eq!(data_cost("{ sessions { id current } }", json!({})), 20 * 3);
    assert_eq!(
        data_cost("{ me { linkedAccounts { provider } } }", json!({})),
        1 + 20 * 2
    );
}

#[test]
fn the_full_introspection_query_fits_its_allowance_and_counts_the_schema() {
    let full = cost(super::model::FULL_INTROSPECTION_QUERY, json!({}));
    assert_eq!(full.data, 1);
    assert!(full.introspection > 1000, "{full:?}");
    assert_eq!(analyzer().introspection_allowance(), full.introspection * 2);
}

#[test]
fn introspection_counts_each_item_of_its_lists() {
    let types = cost("{ __schema { types { name } } }", json!({})).introspection;
    let aliased = cost("{ __schema { types { a: name b: name } } }", json!({})).introspection;
    assert!(types > 20, "{types}");
    assert_eq!(aliased, types + types / 2);
    let one_leaf = cost(
        "{ __type(name: \"Mutation\") { fields { name } } }",
        json!({}),
    );
    let two_leaves = cost(
        "{ __type(name: \"Mutation\") { fields { a: name b: name } } }",
        json!({}),
    );
    let mutations = two_leaves.introspection - one_leaf.introspection;
    assert!(mutations >= 25, "{mutations}");
    assert_eq!(one_leaf.introspection, 2 * mutations);
    assert_eq!(one_leaf.data, 1);
}

#[test]
fn introspection_that_multiplies_the_schema_is_refused() {
    let leaves: String = (0..900).map(|i| format!("a{i}: name ")).collect();
    let query = format!("{{ __schema {{ types {{ fields {{ {leaves} }} }} }} }}");
    let error = analyzer().analyze(&query).unwrap_err();
    assert!(
        error.message.starts_with("Introspection is too large"),
        "{}",
        error.message
    );
}

#[test]
fn a_fan_out_is_refused_in_milliseconds() {
    let analyzer = analyzer();
    for levels in [20, 30, 60] {
        let document = fan_out(levels);
        let started = Instant::now();
        let error = analyzer.analyze(&document).unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            error.message.starts_with("Query is too complex"),
            "{}",
            error.message
        );
        // Generous for a loaded machine and a debug build: the walk is linear.
        assert!(
            elapsed.as_millis() < 100,
            "{levels} levels took {elapsed:?}"
        );
    }
}

#[test]
fn a_fragment_cycle_is_refused_not_followed() {
    let error = analyzer()
        .analyze("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
        .unwrap_err();
    assert!(error.message.contains("within itself"), "{}", error.message);
}

#[test]
fn tokens_and_nesting_are_bounded_before_parsing() {
    let aliases: String = (0..2000).map(|i| format!("a{i}: __typename ")).collect();
    let error = analyzer().analyze(&format!("{{ {aliases} }}")).unwrap_err();
    assert!(
        error.message.contains("more than 5000 tokens"),
        "{}",
        error.message
    );

    let nested = format!(
        "{{ todos(filter: {}1{}) {{ totalCount }} }}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let error = analyzer().analyze(&nested).unwrap_err();
    assert!(
        error.message.contains("nests brackets"),
        "{}",
        error.message
    );
}

#[test]
fn refusals_carry_the_code_of_bad_input() {
    let error = analyzer().analyze(&fan_out(30)).unwrap_err();
    let extensions = error.extensions.unwrap();
    assert_eq!(
        extensions.get("code"),
        Some(&async_graphql::Value::from("BAD_USER_INPUT"))
    );
}

#[test]
fn a_document_whose_cost_depends_on_variables_is_checked_per_request() {
    // 21 + n × (edges 1 + cursor 1 + node 1 + 8 + nodes 1 + 8): 231 for 10 rows, 2,021 for 100.
    let query = "query($n: Int) { todos(first: $n) { edges { cursor node { ...T } } nodes { ...T } } } \
                 fragment T on Todo { id title description dueDate isCompleted completedAt createdAt updatedAt }";
    let analyzed = analyzer().analyze(query).unwrap();
    assert!(
        analyzer()
            .check(&analyzed, &Variables::from_json(json!({ "n": 10 })))
            .is_ok()
    );
    let error = analyzer()
        .check(&analyzed, &Variables::from_json(json!({ "n": 100 })))
        .unwrap_err();
    assert!(
        error.message.starts_with("Query is too complex"),
        "{}",
        error.message
    );
}
