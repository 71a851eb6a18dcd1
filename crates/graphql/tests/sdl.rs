//! The schema's SDL, pinned as a snapshot: a change to the API shows as a reviewable diff of
//! `snapshots/sdl__schema.snap` (`INSTA_UPDATE=always cargo test -p todoql-graphql --test sdl`
//! rewrites it when a change is meant, then `cargo run -q -- schema > schema.graphql`).
//! The snapshot and the repository's `schema.graphql`, which clients generate code from, must
//! say the same, so that neither can be updated without the other.

use std::path::Path;

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/snapshots/sdl__schema.snap"
);
const COMMITTED_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql");

#[test]
fn the_schema_matches_its_snapshot() {
    insta::assert_snapshot!("schema", todoql_graphql::sdl());
}

#[test]
fn the_snapshot_is_the_committed_schema_graphql() {
    let snapshot = insta::Snapshot::from_file(Path::new(SNAPSHOT)).expect("the SDL snapshot");
    let snapshot = snapshot
        .as_text()
        .expect("the SDL snapshot is text")
        .to_string();
    let committed = std::fs::read_to_string(COMMITTED_SCHEMA).expect("schema.graphql");
    // insta compares without trailing whitespace; the byte-for-byte check of schema.graphql
    // against `todoql schema` is the server's (tests/e2e/foundation.rs) and CI's.
    assert!(
        snapshot == committed.trim_end(),
        "schema.graphql and the SDL snapshot differ: update the one that is stale"
    );
}
