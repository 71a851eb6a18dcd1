//! The API's objects as tests read them (`Gql::root_as::<User>("me")`), shared by every test
//! file. Queries select different parts of the same type, so every field but the id is an
//! `Option`: a test asserts `Some(..)` of what its query selected, and a field its query left
//! out reads as `None` and fails that assertion. (A chain such as `data()["me"]["email"]` read
//! a missing field as `null` in the same way.)

use serde::Deserialize;

/// A `User` (of `me`, of an AuthPayload, of verifyEmail or confirmEmailChange).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub avatar: Option<String>,
    pub email_verified: Option<bool>,
    pub has_password: Option<bool>,
    pub linked_accounts: Option<Vec<LinkedAccount>>,
}

impl User {
    /// `linkedAccounts`, failing the test when the query did not select it.
    pub fn linked_accounts(&self) -> &[LinkedAccount] {
        self.linked_accounts
            .as_deref()
            .expect("the query selects linkedAccounts")
    }

    /// The providers of `linkedAccounts`, in the order the server lists them.
    pub fn providers(&self) -> Vec<&str> {
        self.linked_accounts()
            .iter()
            .map(|account| account.provider.as_str())
            .collect()
    }
}

/// One entry of `User.linkedAccounts`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedAccount {
    pub provider: String,
    pub account_id: Option<String>,
    pub created_at: Option<String>,
}

/// A `Session` (of `sessions`, or of an AuthPayload).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub current: Option<bool>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub authentication_methods: Option<Vec<String>>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
}

/// An `AuthPayload` (of signUp, signIn, refreshSession, signInWithCode, completeOAuth…). The
/// access token is in every selection; the accessors read the other parts, failing the test
/// when the query did not select them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthPayload {
    pub access_token: String,
    pub access_token_expires_at: Option<String>,
    refresh_token: Option<String>,
    session: Option<Session>,
    user: Option<User>,
}

impl AuthPayload {
    pub fn refresh_token(&self) -> &str {
        self.refresh_token
            .as_deref()
            .expect("the query selects refreshToken")
    }

    pub fn session(&self) -> &Session {
        self.session.as_ref().expect("the query selects session")
    }

    pub fn user(&self) -> &User {
        self.user.as_ref().expect("the query selects user")
    }
}

/// `authConfig`: the sign-in methods the server offers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    pub password_sign_in: Option<bool>,
    pub email_code_sign_in: Option<bool>,
    pub oauth_providers: Option<Vec<String>>,
    pub require_verified_email: Option<bool>,
}

/// A `Todo` as the `TodoFields` fragment of todos.rs selects it; timestamps as the server wrote
/// them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Todo {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<String>,
    pub is_completed: bool,
    pub completed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A Relay connection (`todos`, `deletedTodos`) as the lists' queries select it: the total,
/// the edges with their nodes, the `nodes` shortcut (ids) and the page info.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<N> {
    pub total_count: u64,
    pub edges: Vec<Edge<N>>,
    pub nodes: Vec<IdOnly>,
    pub page_info: PageInfo,
}

impl<N> Connection<N> {
    /// The ids of the `nodes` shortcut, in order.
    pub fn node_ids(&self) -> Vec<&str> {
        self.nodes.iter().map(|node| node.id.as_str()).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Edge<N> {
    pub cursor: String,
    pub node: N,
}

/// A node of which the query selects only the id.
#[derive(Debug, Clone, Deserialize)]
pub struct IdOnly {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}
