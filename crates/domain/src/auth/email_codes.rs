//! Emailed one-time codes with their link tokens: issuing, checking and using them up. The
//! flows built on them are `email_verification`, `code_sign_in` and `email_change`.
//!
//! A code is 6 digits from the OS CSPRNG without modulo bias; its link token is 32 random
//! bytes; both are stored only as SHA-256 and compared in constant time. A code lives 15
//! minutes, works once, and dies after 5 wrong attempts. Issuing a new one for the same
//! address and action (for change_email: the same user) deletes the previous one, and only the
//! newest row of an address and action is ever accepted. Wrong guesses also count against a
//! per-address budget that a new code does not reset, so asking for new codes cannot buy more
//! guesses.

use crate::auth::identity::normalize_email;
use crate::auth::sessions::ClientInfo;
use crate::error::{AppError, AppResult};
use crate::rate_limit::{self, Key};
use crate::secrets::{constant_time_eq, random_code, random_token, sha256_hex};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveEnum;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use secrecy::{ExposeSecret, SecretString};
pub use todoql_entity::email_verification_code::CodeAction;
use todoql_entity::email_verification_code::{self, Column, Entity as Code};
use uuid::Uuid;

/// How long a code and its link work.
pub const CODE_TTL_MINUTES: i64 = 15;
/// Wrong attempts after which a code is dead.
pub const MAX_WRONG_ATTEMPTS: i32 = 5;

/// A freshly issued code and link token, in clear: they go into the mail and nowhere else.
pub struct IssuedCode {
    code: SecretString,
    token: SecretString,
}

impl std::fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedCode(..)")
    }
}

impl IssuedCode {
    /// The 6-digit code.
    pub fn code(&self) -> &str {
        self.code.expose_secret()
    }
    /// The link token.
    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }
}

/// Whose code a lookup wants: the address it was sent to, or (change_email) the user who asked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner<'a> {
    Email(&'a str),
    User(Uuid),
}

/// Stores a new code for `email` and `action`, deleting the previous one of the same address
/// and action (for change_email: of the same user). Call inside the transaction that queues
/// its mail.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    email: &str,
    action: CodeAction,
    user_id: Option<Uuid>,
) -> AppResult<IssuedCode> {
    let previous = Code::delete_many().filter(Column::Action.eq(action));
    let previous = match (action, user_id) {
        (CodeAction::ChangeEmail, Some(user_id)) => previous.filter(Column::UserId.eq(user_id)),
        _ => previous.filter(Column::Email.eq(email)),
    };
    previous.exec(db).await?;
    let code = random_code();
    let token = random_token();
    email_verification_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.to_owned()),
        code: Set(sha256_hex(&code)),
        token: Set(sha256_hex(&token)),
        action: Set(action),
        user_id: Set(user_id),
        attempts: Set(0),
        expires_at: Set(now + Duration::minutes(CODE_TTL_MINUTES)),
        created_at: Set(now),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(IssuedCode {
        code: SecretString::from(code),
        token: SecretString::from(token),
    })
}

/// What a caller presents: an address with its emailed code, or the link token.
pub enum Proof {
    /// `{email, code}`.
    Code {
        /// The address (normalised).
        email: String,
        /// The 6 digits.
        code: SecretString,
    },
    /// `{token}` from the link.
    Token(SecretString),
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proof::Code { email, .. } => f.debug_struct("Code").field("email", email).finish(),
            Proof::Token(_) => f.write_str("Token(..)"),
        }
    }
}

impl Proof {
    /// Exactly one of `{email, code}` or `{token}`; BAD_USER_INPUT otherwise, on the field to
    /// fix.
    pub fn from_input(
        email: Option<String>,
        code: Option<String>,
        token: Option<String>,
    ) -> AppResult<Self> {
        match (email, code, token) {
            (None, None, Some(token)) => Ok(Proof::Token(SecretString::from(token))),
            (_, _, Some(_)) => Err(AppError::bad_input(
                "token",
                "Give either email and code, or token, not both.",
            )),
            (Some(email), Some(code), None) => Ok(Proof::Code {
                email: normalize_email(&email, "email")?,
                code: SecretString::from(validate_code(&code)?),
            }),
            (None, _, None) => Err(AppError::bad_input(
                "email",
                "Give email and code, or token.",
            )),
            (Some(_), None, None) => Err(AppError::bad_input(
                "code",
                "Enter the 6-digit code from the mail.",
            )),
        }
    }
}

/// A code as typed: 6 digits (surrounding spaces ignored). Malformed input is BAD_USER_INPUT and
/// does not count as a guess.
pub fn validate_code(raw: &str) -> AppResult<String> {
    let code = raw.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(AppError::bad_input(
            "code",
            "The code is the 6 digits from the mail.",
        ))
    }
}

pub(crate) fn invalid_code() -> AppError {
    AppError::InvalidToken(
        "This code or link is invalid, expired or already used. Ask for a new one.".into(),
    )
}

fn is_live(row: &email_verification_code::Model, now: DateTime<Utc>) -> bool {
    row.used_at.is_none() && row.expires_at > now && row.attempts < MAX_WRONG_ATTEMPTS
}

async fn newest<C: ConnectionTrait>(
    db: &C,
    action: CodeAction,
    owner: Owner<'_>,
) -> AppResult<Option<email_verification_code::Model>> {
    let query = Code::find().filter(Column::Action.eq(action));
    let query = match owner {
        Owner::Email(email) => query.filter(Column::Email.eq(email)),
        Owner::User(user_id) => query.filter(Column::UserId.eq(user_id)),
    };
    Ok(query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(1)
        .one(db)
        .await?)
}

/// The live code row of `owner` matching `code`. Count, then check: before the comparison the
/// guess takes a unit from the guess budgets of `budget_email` and of the client's IP, and
/// from the row's own attempts, each in one atomic statement; past any of them the guess is
/// refused unchecked. Every failure (no code, wrong, expired, dead) keeps its units, whether or
/// not the address has an account; the right code gives them back. Does not consume the row.
pub(crate) async fn check_code(
    app: &AppState,
    action: CodeAction,
    owner: Owner<'_>,
    budget_email: &str,
    code: &SecretString,
    client: &ClientInfo,
) -> AppResult<email_verification_code::Model> {
    let db = app.db();
    let now = app.now();
    let mut keys = vec![Key::CodeGuessAddress(budget_email)];
    if let Some(ip) = &client.ip {
        keys.push(Key::CodeGuessIp(ip));
    }
    let taken = rate_limit::take(db, &app.settings().rate_limits, &keys, now).await?;
    let row = newest(db, action, owner).await?;
    let presented = sha256_hex(code.expose_secret());
    // A wrong code keeps the attempt it took from the row; the right one gives it back.
    if let Some(row) = row.filter(|r| is_live(r, now))
        && take_attempt(db, &row).await?
        && constant_time_eq(&row.code, &presented)
    {
        give_back_attempt(db, &row).await?;
        taken.give_back(db).await?;
        return Ok(row);
    }
    taken.keep();
    metrics::counter!("todoql_wrong_codes_total", "action" => action.to_value()).increment(1);
    Err(invalid_code())
}

/// Counts one attempt against the row, atomically; false when the row was used or had no
/// attempts left (concurrent guesses cannot exceed its 5 between the read and the check).
async fn take_attempt<C: ConnectionTrait>(
    db: &C,
    row: &email_verification_code::Model,
) -> AppResult<bool> {
    let taken = Code::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(row.id))
        .filter(Column::UsedAt.is_null())
        .filter(Column::Attempts.lt(MAX_WRONG_ATTEMPTS))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// The right code's attempt is not a wrong one: the row's count goes back.
async fn give_back_attempt<C: ConnectionTrait>(
    db: &C,
    row: &email_verification_code::Model,
) -> AppResult<()> {
    Code::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
        .filter(Column::Id.eq(row.id))
        .filter(Column::Attempts.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// The live row whose link token is `token`, when it is for `action` and is the newest of its
/// address (or user). Does not consume it.
pub(crate) async fn check_token(
    app: &AppState,
    action: CodeAction,
    token: &SecretString,
) -> AppResult<email_verification_code::Model> {
    let db = app.db();
    let presented = sha256_hex(token.expose_secret());
    let row = Code::find()
        .filter(Column::Token.eq(&presented))
        .one(db)
        .await?
        .filter(|r| {
            r.action == action && is_live(r, app.now()) && constant_time_eq(&r.token, &presented)
        })
        .ok_or_else(invalid_code)?;
    let owner = match (action, row.user_id) {
        (CodeAction::ChangeEmail, Some(user_id)) => Owner::User(user_id),
        _ => Owner::Email(&row.email),
    };
    match newest(db, action, owner).await? {
        Some(newest) if newest.id == row.id => Ok(row),
        _ => Err(invalid_code()),
    }
}

/// Marks the row used, inside the transaction that applies its effect. INVALID_TOKEN when a
/// concurrent request used it first (or a wrong guess killed it meanwhile).
pub(crate) async fn consume<C: ConnectionTrait>(
    db: &C,
    row: &email_verification_code::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let used = Code::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Id.eq(row.id))
        .filter(Column::UsedAt.is_null())
        .filter(Column::Attempts.lt(MAX_WRONG_ATTEMPTS))
        .exec(db)
        .await?;
    if used.rows_affected == 1 {
        Ok(())
    } else {
        Err(invalid_code())
    }
}

pub(crate) async fn check_proof(
    app: &AppState,
    action: CodeAction,
    proof: &Proof,
    client: &ClientInfo,
) -> AppResult<email_verification_code::Model> {
    match proof {
        Proof::Code { email, code } => {
            check_code(app, action, Owner::Email(email), email, code, client).await
        }
        Proof::Token(token) => check_token(app, action, token).await,
    }
}

/// Takes a unit from the mail requests of the client's IP: RATE_LIMITED past it. A refusal
/// says nothing about any address, so even the no-enumeration requests may answer it.
pub(crate) async fn count_mail_request(app: &AppState, client: &ClientInfo) -> AppResult<()> {
    let Some(ip) = &client.ip else { return Ok(()) };
    rate_limit::take(
        app.db(),
        &app.settings().rate_limits,
        &[Key::MailIp(ip)],
        app.now(),
    )
    .await?
    .keep();
    Ok(())
}
