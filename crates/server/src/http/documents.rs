//! Parsed GraphQL documents, kept by their text, and Automatic Persisted Queries.
//!
//! Clients send the same few documents over and over with different variables. Parsing one is
//! a tenth of the server's work for a page of todos, so each distinct text is parsed once and
//! later requests get a copy of the parsed document, with its cost analysis (token count,
//! shape and, when variables don't change it, its cost: see `todoql_graphql::schema::cost`).
//! A text refused by the analysis is not kept. Validation still runs on every request (it
//! depends on the variables), and nothing about the caller is kept: a cached document is the
//! text's syntax tree and its cost, nothing more.
//!
//! The same cache answers Automatic Persisted Queries (the protocol of Apollo Client and urql):
//! a request may carry `extensions.persistedQuery = { version: 1, sha256Hash }` and leave out
//! the query; when the server knows the hash it runs that document, otherwise it answers
//! `PersistedQueryNotFound` and the client sends the query along with its hash once.
//!
//! Memory is bounded by bytes, not only by entries: a document is kept only when its text is at
//! most [`MAX_QUERY_BYTES`] and its text and syntax tree together at most [`MAX_DOCUMENT_BYTES`]
//! (the tree's heap size is measured when it is parsed, see `document_size`: a short text can
//! parse into a large tree), and the cache holds at most [`MAX_ENTRIES`] documents and
//! [`MAX_TOTAL_BYTES`] in all; the least recently used go first. Documents not kept are parsed
//! on every request, as without a cache.

use async_graphql::{Request, ServerError};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use todoql_domain::secrets::sha256_hex;
use todoql_graphql::ErrorCode;
use todoql_graphql::schema::cost::{Analyzed, CostAnalyzer};

/// Most documents kept.
pub const MAX_ENTRIES: usize = 512;
/// Longest text kept (longer ones are parsed on every request).
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Largest document kept: its text, its syntax tree and the entry's bookkeeping.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Most bytes kept in all (texts, syntax trees, bookkeeping).
pub const MAX_TOTAL_BYTES: usize = 4 * 1024 * 1024;
/// An entry's bookkeeping besides its text and tree: the text's SHA-256 in hex twice (the
/// entry and the hash index), the `Arc`s and the two LRU nodes.
const ENTRY_OVERHEAD: usize = 384;

/// The message clients of the APQ protocol look for.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PersistedQueryNotFound";

struct Entry {
    document: Arc<Analyzed>,
    sha256: String,
    /// What this entry holds in memory (text, tree, bookkeeping).
    bytes: usize,
}

struct Inner {
    /// Text → parsed document.
    by_text: LruCache<Arc<str>, Entry>,
    /// SHA-256 (lowercase hex) → text, for persisted queries.
    by_hash: LruCache<String, Arc<str>>,
    /// The sum of the entries' `bytes`.
    bytes: usize,
}

/// The cache, shared by every request of one server.
#[derive(Clone)]
pub struct Documents {
    inner: Arc<Mutex<Inner>>,
    analyzer: Arc<CostAnalyzer>,
}

impl Documents {
    /// An empty cache whose documents `analyzer` checks.
    pub fn new(analyzer: Arc<CostAnalyzer>) -> Self {
        let cap = NonZeroUsize::new(MAX_ENTRIES).expect("MAX_ENTRIES is positive");
        Self {
            inner: Arc::new(Mutex::new(Inner {
                by_text: LruCache::new(cap),
                by_hash: LruCache::new(cap),
                bytes: 0,
            })),
            analyzer,
        }
    }
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents").finish_non_exhaustive()
    }
}

/// What a persisted-query extension asked for.
enum Persisted {
    /// No `persistedQuery` extension.
    No,
    /// A well-formed version-1 hash (lowercase hex).
    Hash(String),
    /// Anything else: the message to answer with.
    Bad(&'static str),
}

fn persisted(request: &Request) -> Persisted {
    use async_graphql::Value;
    let Some(extension) = request.extensions.get("persistedQuery") else {
        return Persisted::No;
    };
    let Value::Object(fields) = extension else {
        return Persisted::Bad("extensions.persistedQuery must be an object.");
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_i64() == Some(1) => {}
        _ => return Persisted::Bad("PersistedQueryNotSupported"),
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Persisted::Hash(hash.to_ascii_lowercase())
        }
        _ => Persisted::Bad("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits."),
    }
}

impl Documents {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent cache (every step is one call).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The analysed document of `text`, from the cache or analysed now (and kept). The error
    /// (a syntax error, a limit) is the answer to send.
    pub fn document(&self, text: &str) -> Result<Arc<Analyzed>, ServerError> {
        if let Some(found) = self.lock().by_text.get(text).map(|e| e.document.clone()) {
            return Ok(found);
        }
        let analyzed = Arc::new(self.analyzer.analyze(text)?);
        if text.len() <= MAX_QUERY_BYTES {
            let bytes = text.len()
                + super::document_size::parsed_bytes(&analyzed.document)
                + std::mem::size_of::<Analyzed>()
                + ENTRY_OVERHEAD;
            if bytes <= MAX_DOCUMENT_BYTES {
                self.insert(text, analyzed.clone(), bytes);
            }
        }
        Ok(analyzed)
    }

    fn insert(&self, text: &str, document: Arc<Analyzed>, bytes: usize) {
        let sha256 = sha256_hex(text);
        let text: Arc<str> = Arc::from(text);
        let mut inner = self.lock();
        if inner.by_text.contains(&text) {
            return;
        }
        inner.bytes += bytes;
        let evicted = inner.by_text.push(
            text.clone(),
            Entry {
                document,
                sha256: sha256.clone(),
                bytes,
            },
        );
        if let Some((_, entry)) = evicted {
            inner.bytes -= entry.bytes;
            inner.by_hash.pop(&entry.sha256);
        }
        while inner.bytes > MAX_TOTAL_BYTES {
            match inner.by_text.pop_lru() {
                Some((_, entry)) => {
                    inner.bytes -= entry.bytes;
                    inner.by_hash.pop(&entry.sha256);
                }
                None => break,
            }
        }
        inner.by_hash.put(sha256, text);
    }

    /// Gives `request` its parsed document and its analysis (and, for a persisted query sent by
    /// hash only, its text). An error is the answer to send instead of executing: a refused
    /// document never reaches async-graphql's validation. The cost with the request's
    /// variables is checked by the schema's extension (`cost::check_request`), first thing in execution.
    pub fn prepare(&self, request: &mut Request) -> Result<(), ServerError> {
        match persisted(request) {
            Persisted::No => {}
            Persisted::Bad(message) => return Err(ServerError::new(message, None)),
            Persisted::Hash(hash) if request.query.is_empty() => {
                let text = self.lock().by_hash.get(&hash).cloned();
                match text {
                    Some(text) => request.query = text.to_string(),
                    None => return Err(persisted_query_not_found()),
                }
            }
            Persisted::Hash(hash) => {
                if sha256_hex(&request.query) != hash {
                    return Err(ServerError::new("provided sha does not match query", None));
                }
            }
        }
        let analyzed = self.document(&request.query)?;
        request.set_parsed_query(analyzed.document.clone());
        request.data.insert(analyzed);
        Ok(())
    }
}

/// The answer to a hash the cache does not know: Apollo's message and code, which the APQ links
/// of Apollo Client and urql look for before they send the query with its hash.
fn persisted_query_not_found() -> ServerError {
    let mut error = ServerError::new(PERSISTED_QUERY_NOT_FOUND, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", ErrorCode::PersistedQueryNotFound.as_str());
    error.extensions = Some(extensions);
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use todoql_graphql::SchemaLimits;

    impl Default for Documents {
        fn default() -> Self {
            Documents::new(Arc::new(todoql_graphql::schema::cost_analyzer(
                SchemaLimits::default(),
            )))
        }
    }

    #[test]
    fn a_document_is_parsed_once_and_copied_after() {
        let documents = Documents::default();
        let first = documents.document("{ me { id } }").unwrap();
        let second = documents.document("{ me { id } }").unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(documents.lock().by_text.len(), 1);
        assert_eq!(documents.lock().by_hash.len(), 1);
    }

    #[test]
    fn texts_that_do_not_parse_are_not_kept() {
        let documents = Documents::default();
        assert!(documents.document("{ me { id }").is_err());
        assert_eq!(documents.lock().by_text.len(), 0);
    }

    #[test]
    fn memory_stays_within_the_bounds() {
        let documents = Documents::default();
        let padding = " ".repeat(MAX_QUERY_BYTES - 40);
        for i in 0..(MAX_TOTAL_BYTES / MAX_QUERY_BYTES) * 2 {
            documents.document(&format!("{{ f{i} }}{padding}")).unwrap();
        }
        let inner = documents.lock();
        assert!(inner.bytes <= MAX_TOTAL_BYTES, "{}", inner.bytes);
        assert_eq!(inner.by_text.len(), inner.by_hash.len());
        drop(inner);

        let too_long = format!("{{ me {{ id }} }}{}", " ".repeat(MAX_QUERY_BYTES));
        documents.document(&too_long).unwrap();
        assert!(documents.lock().by_text.get(too_long.as_str()).is_none());

        let many = Documents::default();
        for i in 0..MAX_ENTRIES + 10 {
            many.document(&format!("{{ f{i} }}")).unwrap();
        }
        assert_eq!(many.lock().by_text.len(), MAX_ENTRIES);
        assert_eq!(many.lock().by_hash.len(), MAX_ENTRIES);
    }

    /// Many distinct documents whose syntax trees are far larger than their texts (a fuzzer's
    /// flood): the cache keeps at most MAX_TOTAL_BYTES of them, measured on the trees.
    #[test]
    fn parsed_trees_count_against_the_bound_not_only_their_texts() {
        let documents = Documents::default();
        // 200 aliased fields with an argument each: 2 KiB of text, a tree of ~150 KiB; 200 such
        // documents are ~30 MiB of trees but only ~0.4 MiB of text.
        let fields: String = (0..200).map(|i| format!("a{i}:f(x:1) ")).collect();
        let heavy = |i: usize| format!("{{ f{i} {fields} }}");
        let one = super::super::document_size::parsed_bytes(
            &async_graphql::parser::parse_query(heavy(0)).unwrap(),
        );
        assert!(heavy(0).len() <= MAX_QUERY_BYTES);
        assert!(one > 10 * heavy(0).len(), "{one} bytes of tree");
        assert!(one <= MAX_DOCUMENT_BYTES, "{one} bytes: not cacheable");
        for i in 0..200 {
            documents.document(&heavy(i)).unwrap();
        }
        let inner = documents.lock();
        assert!(inner.bytes <= MAX_TOTAL_BYTES, "{}", inner.bytes);
        assert!(inner.by_text.len() < 200, "{} kept", inner.by_text.len());
        assert!(!inner.by_text.is_empty());
        let tree_bytes: usize = inner
            .by_text
            .iter()
            .map(|(_, e)| super::super::document_size::parsed_bytes(&e.document.document))
            .sum();
        assert!(tree_bytes <= MAX_TOTAL_BYTES, "{tree_bytes}");
        assert_eq!(inner.by_text.len(), inner.by_hash.len());
    }

    #[test]
    fn a_document_whose_tree_alone_exceeds_the_per_document_bound_is_not_kept() {
        // Limits high enough that the cost analysis lets the document through to the cache.
        let documents = Documents::new(Arc::new(todoql_graphql::schema::cost_analyzer(
            SchemaLimits {
                max_complexity: 100_000,
                max_tokens: 100_000,
                ..SchemaLimits::default()
            },
        )));
        // 8,000 one-letter fields: 16 KiB of text, over a megabyte of tree.
        let text = format!("{{{}}}", " a".repeat(8000 - 1));
        assert!(text.len() <= MAX_QUERY_BYTES);
        assert!(documents.document(&text).is_ok());
        assert_eq!(documents.lock().by_text.len(), 0);
        assert_eq!(documents.lock().bytes, 0);
    }

    #[test]
    fn the_hash_is_lowercase_sha256_hex() {
        assert_eq!(
            sha256_hex("{ __typename }"),
            "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
        );
    }
}
