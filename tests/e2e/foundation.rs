//! The foundation: HTTP rules, limits, health, readiness, metrics, request ids, CLI.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn auth_config_answers_on_a_fresh_server() {
    let app = spawn_app().await;
    let response = app
        .graphql(
            "{ authConfig { passwordSignIn requireVerifiedEmail } }",
            json!({}),
        )
        .await;
    assert_eq!(response.data()["authConfig"]["passwordSignIn"], true);
    assert_eq!(response.data()["authConfig"]["requireVerifiedEmail"], true);
}
