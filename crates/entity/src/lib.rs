//! sea-orm models of todoql's tables and their relations.
//!
//! Models only: no business rule lives here. Every timestamp is UTC; every key is a UUID.

pub mod account;
pub mod deleted_todo_log;
pub mod email_outbox;
pub mod email_verification_code;
pub mod mfa_challenge;
pub mod oauth_state;
pub mod passkey;
pub mod password_reset_token;
pub mod rate_limit_counter;
pub mod recovery_code;
pub mod refresh_token_history;
pub mod security_event;
pub mod session;
pub mod todo;
pub mod todo_change;
pub mod totp_factor;
pub mod user;
pub mod webauthn_ceremony;

pub mod prelude {
    //! The entities under short names, for `use todoql_entity::prelude::*`.
    pub use crate::account::Entity as Account;
    pub use crate::deleted_todo_log::Entity as DeletedTodoLog;
    pub use crate::email_outbox::Entity as EmailOutbox;
    pub use crate::email_verification_code::Entity as EmailVerificationCode;
    pub use crate::mfa_challenge::Entity as MfaChallenge;
    pub use crate::oauth_state::Entity as OauthState;
    pub use crate::passkey::Entity as Passkey;
    pub use crate::password_reset_token::Entity as PasswordResetToken;
    pub use crate::rate_limit_counter::Entity as RateLimitCounter;
    pub use crate::recovery_code::Entity as RecoveryCode;
    pub use crate::refresh_token_history::Entity as RefreshTokenHistory;
    pub use crate::security_event::Entity as SecurityEvent;
    pub use crate::session::Entity as Session;
    pub use crate::todo::Entity as Todo;
    pub use crate::todo_change::Entity as TodoChange;
    pub use crate::totp_factor::Entity as TotpFactor;
    pub use crate::user::Entity as User;
    pub use crate::webauthn_ceremony::Entity as WebauthnCeremony;
}
