//! Password accounts and sessions.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn sign_up_returns_tokens_that_work_for_me() {
    let app = spawn_app().await;
    let user = app.sign_up("Ada@Example.com").await;
    let me = app
        .graphql_as(&user.access_token, "{ me { id email } }", json!({}))
        .await;
    assert_eq!(me.data()["me"]["id"], user.id.as_str());
    assert_eq!(me.data()["me"]["email"], "ada@example.com");
}
