//! GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): the media type of an
//! answer, chosen from the request's `Accept`, and the status and body that go with it.
//!
//! - `application/graphql-response+json` when the client asks for it, and when it sends no
//!   `Accept` or accepts anything (`*/*`): the spec's "legacy watershed" (answer
//!   `application/json` to clients that say nothing) ended on 2025-01-01 and the draft now
//!   leaves the choice to the server, so todoql picks the type whose status codes mean
//!   something. Under it, a request error (the document does not parse or validate, a value
//!   does not fit its type: nothing was executed) is HTTP 400.
//! - `application/json` when the client prefers it (a higher `q`, or the only one it lists):
//!   every GraphQL response is HTTP 200, as legacy clients expect.
//! - Neither acceptable: 406, which the spec recommends over answering in a type the client
//!   did not ask for.
//!
//! Either way a request error's body has no `data` entry (GraphQL spec 7.1.1): it tells the
//! client that nothing ran, where `"data": null` says that something ran and failed.

use async_graphql::{BatchResponse, Response as GqlResponse, ServerError, Value};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::BTreeMap;

/// A media type todoql answers GraphQL requests in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`: statuses tell request errors from executions.
    GraphqlResponse,
    /// `application/json`: always 200 (for clients written before the spec).
    Json,
}

impl Media {
    fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }
}

/// The media type to answer in, per the request's `Accept` (RFC 9110 12.5.1: the most
/// specific range that matches a type gives its `q`; the higher `q` wins, and a tie goes to
/// `application/graphql-response+json`); `None` when neither type is acceptable.
pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let ranges: Vec<mime::Mime> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|range| range.trim().parse().ok())
        .collect();
    if ranges.is_empty() {
        return Some(Media::GraphqlResponse);
    }
    let graphql = quality(&ranges, "application/graphql-response+json");
    let json = quality(&ranges, "application/json");
    match (graphql, json) {
        (Some(g), Some(j)) if j > g => Some(Media::Json),
        (Some(_), _) => Some(Media::GraphqlResponse),
        (None, Some(_)) => Some(Media::Json),
        (None, None) => None,
    }
}

/// The `q` the client gives `media_type`, an `application/…` type (None: not acceptable).
fn quality(ranges: &[mime::Mime], media_type: &str) -> Option<u16> {
    // `essence_str` is the type without parameters, lowercase, with its `+json` suffix.
    let specificity = |range: &mime::Mime| match range.essence_str() {
        essence if essence == media_type => Some(2),
        "application/*" => Some(1),
        "*/*" => Some(0),
        _ => None,
    };
    let (_, q) = ranges
        .iter()
        .filter_map(|range| Some((specificity(range)?, q_of(range))))
        .max_by_key(|(specificity, _)| *specificity)?;
    (q > 0).then_some(q)
}

/// A range's `q` in thousandths (1000 when absent; 0 when it does not parse: a client that
/// writes `q=x` gets no say with that range).
fn q_of(range: &mime::Mime) -> u16 {
    let Some(q) = range.get_param("q") else {
        return 1000;
    };
    q.as_str()
        .parse::<f32>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
        .map_or(0, |q| (q * 1000.0).round() as u16)
}

/// One operation's answer, and whether it was executed (if not, its errors are request
/// errors).
pub struct Answer {
    pub response: GqlResponse,
    pub executed: bool,
}

/// The body of one answer: a request error leaves `data` out.
#[derive(Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Executed(&'a GqlResponse),
    Refused {
        errors: &'a [ServerError],
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        extensions: &'a BTreeMap<String, Value>,
    },
}

impl<'a> From<(&'a GqlResponse, bool)> for Body<'a> {
    fn from((response, executed): (&'a GqlResponse, bool)) -> Self {
        if executed {
            Body::Executed(response)
        } else {
            Body::Refused {
                errors: &response.errors,
                extensions: &response.extensions,
            }
        }
    }
}

/// The HTTP response for `response` (one operation or a batch), in `media`. `executed` says,
/// per operation, whether it ran. Only a single operation's request error is a 400: a batch is
/// not in the spec, and its answers may differ.
pub fn respond(media: Media, response: &BatchResponse, executed: &[bool]) -> Response {
    let (body, status) = match response {
        BatchResponse::Single(single) => {
            let ran = executed.first().copied().unwrap_or(true);
            let status = if media == Media::GraphqlResponse && !ran {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (serde_json::to_vec(&Body::from((single, ran))), status)
        }
        BatchResponse::Batch(all) => {
            let bodies: Vec<Body<'_>> = all
                .iter()
                .zip(executed.iter().copied().chain(std::iter::repeat(true)))
                .map(Body::from)
                .collect();
            (serde_json::to_vec(&bodies), StatusCode::OK)
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(_) => {
            return super::request_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error.",
            );
        }
    };
    let mut http = (status, body).into_response();
    let headers = http.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    if response.is_ok()
        && let Some(cache_control) = response.cache_control().value()
        && let Ok(value) = HeaderValue::from_str(&cache_control)
    {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.extend(response.http_headers());
    http
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<Media> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn the_accept_header_picks_the_media_type() {
        use Media::{GraphqlResponse as G, Json as J};
        assert_eq!(negotiate(&HeaderMap::new()), Some(G));
        assert_eq!(accept("application/json"), Some(J));
        assert_eq!(accept("application/graphql-response+json"), Some(G));
        assert_eq!(accept("*/*"), Some(G));
        assert_eq!(accept("application/*"), Some(G));
        assert_eq!(
            accept("application/graphql-response+json, application/json"),
            Some(G)
        );
        assert_eq!(
            accept("application/json, application/graphql-response+json"),
            Some(G)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.5, application/json"),
            Some(J)
        );
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(G)
        );
        assert_eq!(accept("text/html, */*;q=0.1"), Some(G));
        assert_eq!(accept("application/json; charset=utf-8"), Some(J));
        assert_eq!(
            accept("*/*, application/graphql-response+json;q=0"),
            Some(J)
        );
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/xml"), None);
        assert_eq!(accept("application/json;q=0"), None);
    }
}
