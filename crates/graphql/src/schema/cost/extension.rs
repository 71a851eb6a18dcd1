//! The extension that puts every request through the [`CostAnalyzer`] before async-graphql
//! parses or validates it, whichever way the request came in.

use super::analyzer::{Analyzed, CostAnalyzer};
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::{Request, ServerResult};
use std::any::TypeId;
use std::sync::Arc;

/// Refuses documents over the cost limits before anything else looks at them. A request may
/// carry its [`Analyzed`] document in its data (`Arc<Analyzed>`, from the HTTP layer's cache);
/// otherwise its text is analysed here.
pub struct CostLimit {
    /// The analyzer of the schema.
    pub analyzer: Arc<CostAnalyzer>,
}

impl ExtensionFactory for CostLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostLimitExtension {
            analyzer: self.analyzer.clone(),
        })
    }
}

struct CostLimitExtension {
    analyzer: Arc<CostAnalyzer>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for CostLimitExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let cached = request
            .data
            .get(&TypeId::of::<Arc<Analyzed>>())
            .and_then(|data| data.downcast_ref::<Arc<Analyzed>>())
            .cloned();
        let analyzed = match cached {
            Some(analyzed) => analyzed,
            None => {
                let analyzed = self.analyzer.analyze(&request.query)?;
                request.set_parsed_query(analyzed.document.clone());
                Arc::new(analyzed)
            }
        };
        self.analyzer.check(&analyzed, &request.variables)?;
        next.run(ctx, request).await
    }
}
