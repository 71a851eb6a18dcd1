//! A GraphQL response as the tests read it.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A GraphQL response.
#[derive(Debug)]
pub struct Gql {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl Gql {
    /// The response as the tests read it (status and JSON body).
    pub async fn from_response(response: reqwest::Response) -> Gql {
        Self::from(response).await
    }

    pub(super) async fn from(response: reqwest::Response) -> Gql {
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
        Gql { status, body }
    }

    /// `data`, asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// `data`, read into `T` (a struct that mirrors the selection), asserting there were no
    /// errors. A field missing from the response, or of another type, fails the test.
    pub fn data_as<T: DeserializeOwned>(&self) -> T {
        read_as(self.data(), "data", &self.body)
    }

    /// The root field `name` of `data` (e.g. `"createTodo"`), read into `T`, asserting there
    /// were no errors.
    pub fn root_as<T: DeserializeOwned>(&self, name: &str) -> T {
        read_as(&self.data()[name], name, &self.body)
    }

    /// The first error's `extensions.code`.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {}", self.body))
    }

    /// The first error's `extensions.field`.
    pub fn field(&self) -> &str {
        self.body["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or("")
    }

    /// The first error's message.
    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }

    /// Asserts the first error has `code` (and, when given, `field`).
    pub fn assert_error(&self, code: &str, field: Option<&str>) {
        assert_eq!(self.code(), code, "body: {}", self.body);
        if let Some(field) = field {
            assert_eq!(self.field(), field, "body: {}", self.body);
        }
    }
}

fn read_as<T: DeserializeOwned>(value: &Value, what: &str, body: &Value) -> T {
    T::deserialize(value).unwrap_or_else(|e| {
        panic!(
            "`{what}` does not read as {}: {e}\nbody: {body}",
            std::any::type_name::<T>()
        )
    })
}
