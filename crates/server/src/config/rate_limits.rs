//! Options of the rate limits: failed sign-ins, mails, code guesses.

use super::parse;
use clap::Args;
use todoql_domain::settings::{Limit, RateLimits};

/// How many attempts per address or client IP, per window. The windows are fixed: 15
/// minutes for sign-ins, an hour for mails and codes (the help texts say so).
#[derive(Debug, Clone, Args)]
pub struct RateLimitConfig {
    /// Failed password sign-ins allowed per email address per 15 minutes.
    #[arg(long, env = "TODOQL_SIGNIN_FAILURES_PER_EMAIL", default_value = "10", value_parser = parse::positive, global = true, display_order = 25)]
    pub signin_failures_per_email: u32,

    /// Failed password sign-ins allowed per client IP per 15 minutes.
    #[arg(long, env = "TODOQL_SIGNIN_FAILURES_PER_IP", default_value = "100", value_parser = parse::positive, global = true, display_order = 26)]
    pub signin_failures_per_ip: u32,

    /// Mails allowed per address per hour.
    #[arg(long, env = "TODOQL_MAILS_PER_ADDRESS", default_value = "5", value_parser = parse::positive, global = true, display_order = 27)]
    pub mails_per_address: u32,

    /// Wrong code guesses allowed per address per hour.
    #[arg(long, env = "TODOQL_CODE_GUESSES_PER_ADDRESS", default_value = "10", value_parser = parse::positive, global = true, display_order = 28)]
    pub code_guesses_per_address: u32,

    /// Requests that send mail (signUp, requestSignInCode, requestPasswordReset,
    /// sendVerificationEmail, requestEmailChange) allowed per client IP per hour.
    #[arg(long, env = "TODOQL_MAILS_PER_IP", default_value = "30", value_parser = parse::positive, global = true, display_order = 29)]
    pub mails_per_ip: u32,

    /// Wrong code guesses allowed per client IP per hour, whatever the address.
    #[arg(long, env = "TODOQL_CODE_GUESSES_PER_IP", default_value = "60", value_parser = parse::positive, global = true, display_order = 30)]
    pub code_guesses_per_ip: u32,
}

impl RateLimitConfig {
    /// The domain's rate limits.
    pub fn settings(&self) -> RateLimits {
        let quarter_hour = chrono::Duration::minutes(15);
        let hour = chrono::Duration::hours(1);
        let limit = |max, window| Limit { max, window };
        RateLimits {
            failed_sign_ins_per_email: limit(self.signin_failures_per_email, quarter_hour),
            failed_sign_ins_per_ip: limit(self.signin_failures_per_ip, quarter_hour),
            mails_per_address: limit(self.mails_per_address, hour),
            mails_per_ip: limit(self.mails_per_ip, hour),
            code_guesses_per_address: limit(self.code_guesses_per_address, hour),
            code_guesses_per_ip: limit(self.code_guesses_per_ip, hour),
        }
    }
}
