//! Options of the rate limits: failed sign-ins, mails, code guesses, second-factor guesses.

use super::parse;
use clap::Args;
use todoql_domain::settings::RateLimits;

/// How many attempts per address or client IP, per window. The defaults and the fixed
/// windows are the domain's (`RateLimits::DEFAULT`); the help texts name the windows.
#[derive(Debug, Clone, Args)]
pub struct RateLimitConfig {
    /// Failed password sign-ins allowed per email address per 15 minutes.
    #[arg(long, env = "TODOQL_SIGNIN_FAILURES_PER_EMAIL", default_value_t = RateLimits::DEFAULT.failed_sign_ins_per_email.max, value_parser = parse::positive, display_order = 25)]
    pub signin_failures_per_email: u32,

    /// Failed password sign-ins allowed per client IP per 15 minutes.
    #[arg(long, env = "TODOQL_SIGNIN_FAILURES_PER_IP", default_value_t = RateLimits::DEFAULT.failed_sign_ins_per_ip.max, value_parser = parse::positive, display_order = 26)]
    pub signin_failures_per_ip: u32,

    /// Mails allowed per address per hour.
    #[arg(long, env = "TODOQL_MAILS_PER_ADDRESS", default_value_t = RateLimits::DEFAULT.mails_per_address.max, value_parser = parse::positive, display_order = 27)]
    pub mails_per_address: u32,

    /// Wrong code guesses allowed per address per hour.
    #[arg(long, env = "TODOQL_CODE_GUESSES_PER_ADDRESS", default_value_t = RateLimits::DEFAULT.code_guesses_per_address.max, value_parser = parse::positive, display_order = 28)]
    pub code_guesses_per_address: u32,

    /// Requests that send mail (signUp, requestSignInCode, requestPasswordReset,
    /// sendVerificationEmail, requestEmailChange) allowed per client IP per hour.
    #[arg(long, env = "TODOQL_MAILS_PER_IP", default_value_t = RateLimits::DEFAULT.mails_per_ip.max, value_parser = parse::positive, display_order = 29)]
    pub mails_per_ip: u32,

    /// Wrong code guesses allowed per client IP per hour, whatever the address.
    #[arg(long, env = "TODOQL_CODE_GUESSES_PER_IP", default_value_t = RateLimits::DEFAULT.code_guesses_per_ip.max, value_parser = parse::positive, display_order = 30)]
    pub code_guesses_per_ip: u32,

    /// Wrong second-factor answers (TOTP or recovery codes) allowed per user per 15 minutes,
    /// whatever the mfaToken.
    #[arg(long, env = "TODOQL_MFA_GUESSES_PER_USER", default_value_t = RateLimits::DEFAULT.second_factor_guesses_per_user.max, value_parser = parse::positive, display_order = 30)]
    pub mfa_guesses_per_user: u32,

    /// Passkey sign-ins started (startPasskeySignIn) per client IP per 15 minutes: each stores
    /// a ceremony for 5 minutes.
    #[arg(long, env = "TODOQL_PASSKEY_STARTS_PER_IP", default_value_t = RateLimits::DEFAULT.passkey_sign_in_starts_per_ip.max, value_parser = parse::positive, display_order = 30)]
    pub passkey_starts_per_ip: u32,
}

impl RateLimitConfig {
    /// The domain's rate limits.
    pub fn settings(&self) -> RateLimits {
        let windows = RateLimits::DEFAULT;
        RateLimits {
            failed_sign_ins_per_email: windows
                .failed_sign_ins_per_email
                .with_max(self.signin_failures_per_email),
            failed_sign_ins_per_ip: windows
                .failed_sign_ins_per_ip
                .with_max(self.signin_failures_per_ip),
            mails_per_address: windows.mails_per_address.with_max(self.mails_per_address),
            mails_per_ip: windows.mails_per_ip.with_max(self.mails_per_ip),
            code_guesses_per_address: windows
                .code_guesses_per_address
                .with_max(self.code_guesses_per_address),
            code_guesses_per_ip: windows
                .code_guesses_per_ip
                .with_max(self.code_guesses_per_ip),
            second_factor_guesses_per_user: windows
                .second_factor_guesses_per_user
                .with_max(self.mfa_guesses_per_user),
            passkey_sign_in_starts_per_ip: windows
                .passkey_sign_in_starts_per_ip
                .with_max(self.passkey_starts_per_ip),
        }
    }
}
