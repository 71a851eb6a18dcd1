//! Talking GraphQL to the server outside the measured load: signing the users in, reading
//! one answer.

use crate::load::{self, Call, bearer, graphql_body};
use crate::{seed, workloads};
use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// Signs every address in (four at a time) and returns the access tokens in order.
pub async fn sign_in_all(addr: SocketAddr, emails: &[String]) -> anyhow::Result<Vec<String>> {
    let mut tokens = vec![String::new(); emails.len()];
    for (chunk_index, chunk) in emails.chunks(4).enumerate() {
        let mut handles = Vec::new();
        for email in chunk {
            let email = email.clone();
            handles.push(tokio::spawn(async move {
                let mut conn = load::Connection::open(addr).await?;
                let data = graphql(
                    &mut conn,
                    workloads::SIGN_IN,
                    json!({ "input": { "email": email, "password": seed::PASSWORD } }),
                    None,
                )
                .await?;
                data["signIn"]["accessToken"]
                    .as_str()
                    .map(str::to_owned)
                    .context("signIn returned no token")
            }));
        }
        for (i, handle) in handles.into_iter().enumerate() {
            tokens[chunk_index * 4 + i] = handle.await??;
        }
    }
    Ok(tokens)
}

/// The `data` of a GraphQL answer; an error when it has errors.
pub async fn graphql(
    conn: &mut load::Connection,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> anyhow::Result<Value> {
    let (status, body) = conn
        .send(Call::graphql(
            graphql_body(query, variables),
            token.map(bearer),
        ))
        .await?;
    let body: Value = serde_json::from_slice(&body)
        .with_context(|| format!("status {status}: the answer is not JSON"))?;
    if let Some(errors) = body.get("errors") {
        bail!("GraphQL errors: {errors}");
    }
    Ok(body["data"].clone())
}
