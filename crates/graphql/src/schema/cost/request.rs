//! Puts every request through the [`CostAnalyzer`] before async-graphql parses or validates it,
//! whichever way the request came in (called first thing by the schema's extension,
//! `schema::hooks`).

use super::analyzer::{Analyzed, CostAnalyzer};
use async_graphql::{Request, ServerResult};
use std::any::TypeId;
use std::sync::Arc;

/// Refuses documents over the cost limits before anything else looks at them. A request may
/// carry its [`Analyzed`] document in its data (`Arc<Analyzed>`, from the HTTP layer's cache);
/// otherwise its text is analysed here, and the parsed document set on the request.
pub fn check_request(analyzer: &CostAnalyzer, request: &mut Request) -> ServerResult<()> {
    let cached = request
        .data
        .get(&TypeId::of::<Arc<Analyzed>>())
        .and_then(|data| data.downcast_ref::<Arc<Analyzed>>())
        .cloned();
    let analyzed = match cached {
        Some(analyzed) => analyzed,
        None => {
            let analyzed = analyzer.analyze(&request.query)?;
            request.set_parsed_query(analyzed.document.clone());
            Arc::new(analyzed)
        }
    };
    analyzer.check(&analyzed, &request.variables)
}
