//! Fixed-window rate limits whose counters live in the database, so that they hold across
//! every instance behind a load balancer.
//!
//! **Count, then check.** An attempt takes its unit from every counter it is limited by with
//! ONE atomic statement (`INSERT … ON CONFLICT … DO UPDATE … RETURNING count`) *before* any
//! hashing or comparison, and is refused when a counter is past its limit. So however many
//! attempts arrive at once, on however many instances, at most `max` of them are ever checked
//! in a window. What the counters count is decided by giving units back:
//! - a refused attempt gives its units back at once (it was never checked, so it is not a
//!   failure, and refusals for one key do not eat the budget of another);
//! - an attempt that succeeds gives its units back ([`Taken::give_back`]), so the limits count
//!   failures ("10 failed sign-ins per address per 15 minutes"), not sign-ins;
//! - a failed attempt keeps its units.
//!
//! A unit is given back only to the window it was taken from: when that window has ended
//! meanwhile, there is nothing to give back to.

use crate::error::{AppError, AppResult};
use crate::settings::{Limit, RateLimits};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, QueryFilter};
use todoql_entity::rate_limit_counter::{Column, Entity as Counter};

/// One counter: what is limited, and for whom. Each key's name and limit are defined here
/// only.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// Failed password checks (sign-in and current-password checks) for one address.
    SignInEmail(&'a str),
    /// Failed password checks from one client IP.
    SignInIp(&'a str),
    /// Mails queued for one address.
    MailAddress(&'a str),
    /// Requests that send mail, from one client IP.
    MailIp(&'a str),
    /// Wrong code guesses for one address.
    CodeGuessAddress(&'a str),
    /// Wrong code guesses from one client IP.
    CodeGuessIp(&'a str),
    /// Wrong second-factor answers (TOTP or recovery codes) for one user, whatever the
    /// mfaToken: a new first factor does not buy new guesses.
    SecondFactorUser(&'a str),
    /// Passkey sign-ins started from one client IP: each stores a ceremony for 5 minutes, and
    /// starting one takes no account.
    PasskeyStartIp(&'a str),
}

impl Key<'_> {
    /// The counter's name in `rate_limit_counters.key`.
    pub fn name(&self) -> String {
        match self {
            Key::SignInEmail(email) => format!("signin-email:{email}"),
            Key::SignInIp(ip) => format!("signin-ip:{}", client_bucket(ip)),
            Key::MailAddress(email) => format!("mail-address:{email}"),
            Key::MailIp(ip) => format!("mail-ip:{}", client_bucket(ip)),
            Key::CodeGuessAddress(email) => format!("code-guess:{email}"),
            Key::CodeGuessIp(ip) => format!("code-guess-ip:{}", client_bucket(ip)),
            Key::SecondFactorUser(user_id) => format!("second-factor:{user_id}"),
            Key::PasskeyStartIp(ip) => format!("passkey-start-ip:{}", client_bucket(ip)),
        }
    }

    /// The limit of this kind of counter.
    pub fn limit(&self, limits: &RateLimits) -> Limit {
        match self {
            Key::SignInEmail(_) => limits.failed_sign_ins_per_email,
            Key::SignInIp(_) => limits.failed_sign_ins_per_ip,
            Key::MailAddress(_) => limits.mails_per_address,
            Key::MailIp(_) => limits.mails_per_ip,
            Key::CodeGuessAddress(_) => limits.code_guesses_per_address,
            Key::CodeGuessIp(_) => limits.code_guesses_per_ip,
            Key::SecondFactorUser(_) => limits.second_factor_guesses_per_user,
            Key::PasskeyStartIp(_) => limits.passkey_sign_in_starts_per_ip,
        }
    }
}

/// The unit a per-IP limit counts: an IPv4 address, or the /64 network of an IPv6 address.
/// One IPv6 host usually holds a whole /64 (2^64 addresses), so counting single addresses would
/// let it spread its attempts over as many counters as it likes.
fn client_bucket(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(network))
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The units one attempt took: give them back when the attempt succeeded; drop it otherwise.
#[derive(Debug)]
#[must_use = "a successful attempt gives its units back; a failed one drops them explicitly"]
pub struct Taken {
    /// (counter name, start of the window the unit was taken from)
    units: Vec<(String, DateTime<Utc>)>,
}

impl Taken {
    /// Gives the units back (the attempt succeeded, so it does not count as a failure).
    pub async fn give_back<C: ConnectionTrait>(self, db: &C) -> AppResult<()> {
        give_back(db, &self.units).await
    }

    /// Keeps the units counted (the attempt failed).
    pub fn keep(self) {}
}

/// Takes one unit from every counter of `keys`, atomically, in one statement; RATE_LIMITED
/// (with the longest wait) when any of them is past its limit, and then nothing is taken.
pub async fn take<C: ConnectionTrait>(
    db: &C,
    limits: &RateLimits,
    keys: &[Key<'_>],
    now: DateTime<Utc>,
) -> AppResult<Taken> {
    let mut counters: Vec<(String, Limit)> =
        keys.iter().map(|k| (k.name(), k.limit(limits))).collect();
    // Sorted and unique: one statement may not update a row twice, and concurrent statements
    // that lock rows in one order cannot deadlock on PostgreSQL.
    counters.sort_by(|a, b| a.0.cmp(&b.0));
    counters.dedup_by(|a, b| a.0 == b.0);
    if counters.is_empty() {
        return Ok(Taken { units: Vec::new() });
    }

    // The window of the row being updated is over: for each key, its own window length.
    let mut window_over = Condition::any();
    for (name, limit) in &counters {
        window_over = window_over.add(
            Expr::col((Counter, Column::Key))
                .eq(name.as_str())
                .and(Expr::col((Counter, Column::WindowStart)).lte(now - limit.window)),
        );
    }
    let mut insert = Query::insert();
    insert
        .into_table(Counter)
        .columns([Column::Key, Column::WindowStart, Column::Count]);
    for (name, _) in &counters {
        insert.values_panic([name.as_str().into(), now.into(), 1.into()]);
    }
    insert
        .on_conflict(
            OnConflict::column(Column::Key)
                .value(
                    Column::Count,
                    Expr::case(window_over.clone(), 1)
                        .finally(Expr::col((Counter, Column::Count)).add(1)),
                )
                .value(
                    Column::WindowStart,
                    Expr::case(window_over, now).finally(Expr::col((Counter, Column::WindowStart))),
                )
                .to_owned(),
        )
        .returning(Query::returning().columns([Column::Key, Column::WindowStart, Column::Count]));
    let rows = db.query_all(&insert).await?;

    let mut units = Vec::with_capacity(rows.len());
    let mut retry_after: Option<i64> = None;
    for row in rows {
        let name: String = row.try_get("", Column::Key.as_str())?;
        let window_start: DateTime<Utc> = row.try_get("", Column::WindowStart.as_str())?;
        let count: i32 = row.try_get("", Column::Count.as_str())?;
        let Some((_, limit)) = counters.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        if i64::from(count) > i64::from(limit.max) {
            let wait = (window_start + limit.window - now)
                .num_milliseconds()
                .div_euclid(1000)
                + 1;
            retry_after = Some(retry_after.map_or(wait, |w| std::cmp::max(w, wait)));
        }
        units.push((name, window_start));
    }
    if let Some(secs) = retry_after {
        give_back(db, &units).await?;
        metrics::counter!("todoql_rate_limited_total").increment(1);
        return Err(AppError::RateLimited {
            retry_after_secs: std::cmp::max(secs, 1) as u64,
        });
    }
    Ok(Taken { units })
}

/// Decrements each counter, in the window its unit came from.
///
/// Written like [`take`] (an upsert over the keys in sorted order) so that both lock the
/// counters' rows in the same order: an `UPDATE … WHERE key = a OR key = b` locks them in the
/// order it finds them, and with a concurrent `take` over the same two keys PostgreSQL saw
/// deadlocks. A row purged meanwhile comes back at 0 in the old window, to be purged again.
async fn give_back<C: ConnectionTrait>(db: &C, units: &[(String, DateTime<Utc>)]) -> AppResult<()> {
    if units.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&(String, DateTime<Utc>)> = units.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let same_window = Expr::col((Counter, Column::WindowStart))
        .eq(Expr::col((Alias::new("excluded"), Column::WindowStart)));
    let mut upsert = Query::insert();
    upsert
        .into_table(Counter)
        .columns([Column::Key, Column::WindowStart, Column::Count]);
    for (name, window_start) in sorted {
        upsert.values_panic([name.as_str().into(), (*window_start).into(), 0.into()]);
    }
    upsert.on_conflict(
        OnConflict::column(Column::Key)
            .value(
                Column::Count,
                Expr::case(
                    same_window.and(Expr::col((Counter, Column::Count)).gt(0)),
                    Expr::col((Counter, Column::Count)).sub(1),
                )
                .finally(Expr::col((Counter, Column::Count))),
            )
            .to_owned(),
    );
    db.execute(&upsert).await?;
    Ok(())
}

/// Removes counters whose window ended before `cutoff` (purge).
pub async fn purge<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let deleted = Counter::delete_many()
        .filter(Column::WindowStart.lt(cutoff))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network_and_ipv4_by_address() {
        let a = Key::MailIp("2001:db8:1:2:aaaa::1").name();
        let b = Key::MailIp("2001:db8:1:2:ffff:ffff:ffff:fffe").name();
        let other_network = Key::MailIp("2001:db8:1:3::1").name();
        assert_eq!(a, "mail-ip:2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, other_network);
        assert_eq!(Key::SignInIp("203.0.113.7").name(), "signin-ip:203.0.113.7");
        assert_ne!(
            Key::CodeGuessIp("203.0.113.7").name(),
            Key::CodeGuessIp("203.0.113.8").name()
        );
        // An IPv4 client seen through an IPv6 socket is the same IPv4 client.
        assert_eq!(
            Key::SignInIp("::ffff:203.0.113.7").name(),
            Key::SignInIp("203.0.113.7").name()
        );
    }
}
