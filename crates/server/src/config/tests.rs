//! The configuration as a whole: parsing, OAuth resolution, secrets.

use super::command_line::parse_for_test;
use super::command_line::{Cli, Command};
use super::oauth_providers::ConfigError;
use super::options::Config;
use super::secret_args::is_secret;
use clap::CommandFactory;
use todoql_domain::auth::oauth::{OAuthSettings, ProviderKind};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn parse(args: &[&str]) -> Config {
    match parse_for_test(args).expect("parses").command {
        Command::Serve(serve) => serve.config,
        other => panic!("{args:?} is not serve: {other:?}"),
    }
}

fn resolve(args: &[&str], env: &[(&str, &str)]) -> Result<OAuthSettings, ConfigError> {
    let env: std::collections::HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse(args)
        .oauth
        .resolve(&move |name| env.get(name).cloned())
}

#[test]
fn no_provider_means_oauth_is_off_and_needs_no_key() {
    let oauth = resolve(&[], &[]).unwrap();
    assert!(oauth.providers.is_empty());
}

#[test]
fn providers_are_listed_in_order_with_their_kind() {
    let oauth = resolve(
        &[
            "--oauth-github-client-id",
            "gh-id",
            "--oauth-github-client-secret",
            "gh-secret",
            "--oauth-google-client-id",
            "g-id",
            "--oauth-google-client-secret",
            "g-secret",
            "--oidc-providers",
            "Corp,okta-eu",
            "--oidc-provider",
            "name=local,issuer=http://127.0.0.1:9/,client-id=a,client-secret=b",
            "--encryption-key",
            KEY,
            "--oauth-redirect-uris",
            "http://localhost:3000/callback,https://app.example/cb",
        ],
        &[
            ("TODOQL_OIDC_CORP_ISSUER", "https://sso.corp.example"),
            ("TODOQL_OIDC_CORP_CLIENT_ID", "corp-id"),
            ("TODOQL_OIDC_CORP_CLIENT_SECRET", "corp-secret"),
            (
                "TODOQL_OIDC_OKTA_EU_ISSUER",
                "https://okta.example/oauth2/default",
            ),
            ("TODOQL_OIDC_OKTA_EU_CLIENT_ID", "okta-id"),
            ("TODOQL_OIDC_OKTA_EU_CLIENT_SECRET", "okta-secret"),
        ],
    )
    .unwrap();
    let names: Vec<_> = oauth.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["github", "google", "corp", "okta-eu", "local"]);
    assert_eq!(
        oauth.providers[1].kind,
        ProviderKind::Oidc {
            issuer: "https://accounts.google.com".into()
        }
    );
    assert_eq!(
        oauth.providers[4].kind,
        ProviderKind::Oidc {
            issuer: "http://127.0.0.1:9/".into()
        }
    );
    assert_eq!(oauth.redirect_uris.len(), 2);
}

#[test]
fn empty_list_items_are_ignored() {
    let oauth = resolve(&["--oauth-redirect-uris", "", "--oidc-providers", ""], &[]).unwrap();
    assert!(oauth.providers.is_empty());
    assert!(oauth.redirect_uris.is_empty());
    let oauth = resolve(&["--oauth-redirect-uris", "https://a.example/cb,"], &[]).unwrap();
    assert_eq!(oauth.redirect_uris, ["https://a.example/cb"]);
}

#[test]
fn a_half_configured_provider_names_the_missing_variable() {
    let err = resolve(
        &["--oauth-github-client-id", "id", "--encryption-key", KEY],
        &[],
    )
    .unwrap_err();
    assert!(
        err.variable
            .starts_with("TODOQL_OAUTH_GITHUB_CLIENT_SECRET"),
        "{err}"
    );
}

#[test]
fn a_missing_oidc_variable_is_named() {
    let err = resolve(
        &["--oidc-providers", "corp", "--encryption-key", KEY],
        &[
            ("TODOQL_OIDC_CORP_ISSUER", "https://sso.example"),
            ("TODOQL_OIDC_CORP_CLIENT_ID", "x"),
        ],
    )
    .unwrap_err();
    assert_eq!(err.variable, "TODOQL_OIDC_CORP_CLIENT_SECRET");
}

#[test]
fn an_oidc_issuer_must_be_https() {
    let err = resolve(
        &[
            "--oidc-providers",
            "corp",
            "--encryption-key",
            KEY,
            "--oauth-redirect-uris",
            "https://a.example/cb",
        ],
        &[
            ("TODOQL_OIDC_CORP_ISSUER", "http://sso.example"),
            ("TODOQL_OIDC_CORP_CLIENT_ID", "x"),
            ("TODOQL_OIDC_CORP_CLIENT_SECRET", "y"),
        ],
    )
    .unwrap_err();
    assert_eq!(err.variable, "TODOQL_OIDC_CORP_ISSUER");
}

#[test]
fn a_provider_without_encryption_key_or_redirect_uri_is_refused() {
    let github = [
        "--oauth-github-client-id",
        "id",
        "--oauth-github-client-secret",
        "s",
    ];
    let err = resolve(&github, &[]).unwrap_err();
    assert!(err.variable.starts_with("TODOQL_ENCRYPTION_KEY"), "{err}");
    let mut with_key = github.to_vec();
    with_key.extend(["--encryption-key", KEY]);
    let err = resolve(&with_key, &[]).unwrap_err();
    assert!(
        err.variable.starts_with("TODOQL_OAUTH_REDIRECT_URIS"),
        "{err}"
    );
}

#[test]
fn bad_keys_names_and_specs_are_refused_by_the_parser() {
    let try_parse = |args: &[&str]| parse_for_test(args).is_err();
    assert!(try_parse(&["--encryption-key", "short"]));
    assert!(try_parse(&["--oidc-providers", "github"]));
    assert!(try_parse(&["--oidc-providers", "bad name"]));
    assert!(try_parse(&[
        "--oidc-provider",
        "name=,issuer=https://a.example,client-id=a,client-secret=b"
    ]));
    assert!(try_parse(&[
        "--oidc-provider",
        "name=x,issuer=https://a.example"
    ]));
    assert!(try_parse(&["--oauth-redirect-uris", "/relative"]));
    assert!(try_parse(&["--oauth-github-api-url", "http://api.example"]));
}

#[test]
fn no_migrate_holds_for_the_default_command_as_for_serve() {
    let no_migrate = |args: &[&str]| match parse_for_test(args).unwrap().command {
        Command::Serve(serve) => serve.config.startup.no_migrate,
        other => panic!("{args:?} is not serve: {other:?}"),
    };
    assert!(!no_migrate(&[]));
    assert!(no_migrate(&["--no-migrate"]));
    assert!(no_migrate(&["serve", "--no-migrate"]));
    // Options belong to their command: before it they are not taken.
    assert!(parse_for_test(&["--no-migrate", "serve"]).is_err());
}

#[test]
fn debug_output_hides_secrets() {
    let config = parse(&[
        "--oidc-provider",
        "name=x,issuer=https://a.example,client-id=id,client-secret=very-secret",
        "--encryption-key",
        KEY,
    ]);
    let debug = format!("{config:?}");
    assert!(!debug.contains("very-secret"));
    assert!(!debug.contains(KEY));
}

/// The options whose values are secret, as the product promises them. The code decides it
/// from the options' types (`secret_args`); this test holds the promise.
const SECRET_OPTIONS: [&str; 8] = [
    "database-url",
    "listen-database-url",
    "jwt-secret",
    "smtp-url",
    "encryption-key",
    "oauth-github-client-secret",
    "oauth-google-client-secret",
    "oidc-provider",
];

#[test]
fn exactly_the_secret_options_are_secret() {
    let command = Cli::command();
    let mut secret: Vec<&str> = command
        .get_subcommands()
        .flat_map(|sub| sub.get_arguments())
        .filter(|arg| is_secret(arg))
        .filter_map(|arg| arg.get_long())
        .collect();
    secret.sort_unstable();
    secret.dedup();
    let mut expected = SECRET_OPTIONS.to_vec();
    expected.sort_unstable();
    assert_eq!(secret, expected);
}

#[test]
fn debug_output_hides_every_secret_option() {
    let sentinel = "hunter2hunter2hunter2hunter2hunter2";
    let config = parse(&[
        "--database-url",
        &format!("postgres://app:{sentinel}@db.example/todoql"),
        "--jwt-secret",
        sentinel,
        "--smtp-url",
        &format!("smtps://mail:{sentinel}@mail.example"),
        "--oauth-github-client-id",
        "gh",
        "--oauth-github-client-secret",
        sentinel,
        "--oauth-google-client-id",
        "g",
        "--oauth-google-client-secret",
        sentinel,
        "--oidc-provider",
        &format!("name=x,issuer=https://a.example,client-id=id,client-secret={sentinel}"),
        "--encryption-key",
        KEY,
        "--oauth-redirect-uris",
        "https://app.example/cb",
    ]);
    let debug = format!("{config:?}");
    assert!(!debug.contains(sentinel), "{debug}");
    assert!(!debug.contains(KEY), "{debug}");
    // The resolved providers hold the secrets too.
    let mut resolved = config.clone();
    resolved.resolve(&|_| None).unwrap();
    assert_eq!(resolved.oauth.settings().providers.len(), 3);
    let debug = format!("{resolved:?}");
    assert!(!debug.contains(sentinel), "{debug}");
}

#[test]
fn groups_turn_into_the_domain_settings() {
    let mut config = parse(&[
        "--app-url",
        "https://app.example/",
        "--access-token-ttl",
        "60",
        "--refresh-grace",
        "5",
        "--reauth-max-age",
        "120",
        "--require-verified-email",
        "false",
        "--mails-per-ip",
        "7",
        "--signin-failures-per-email",
        "3",
        "--jwt-secret",
        "0123456789abcdef0123456789abcdef",
    ]);
    config.resolve(&|_| None).unwrap();
    let settings = config.settings();
    assert_eq!(settings.app_url, "https://app.example");
    assert_eq!(settings.access_token_ttl, chrono::Duration::seconds(60));
    assert_eq!(settings.refresh_grace, chrono::Duration::seconds(5));
    assert_eq!(settings.reauth_max_age, chrono::Duration::seconds(120));
    assert!(!settings.require_verified_email);
    assert_eq!(settings.rate_limits.mails_per_ip.max, 7);
    assert_eq!(
        settings.rate_limits.mails_per_ip.window,
        chrono::Duration::hours(1)
    );
    assert_eq!(settings.rate_limits.failed_sign_ins_per_email.max, 3);
    assert_eq!(
        settings.rate_limits.failed_sign_ins_per_email.window,
        chrono::Duration::minutes(15)
    );
    assert!(settings.oauth.providers.is_empty());
}

#[test]
fn a_zero_purge_interval_means_no_background_purge() {
    assert_eq!(
        parse(&["--purge-interval", "0"]).maintenance.purge_every(),
        None
    );
    assert_eq!(
        parse(&[]).maintenance.purge_every(),
        Some(std::time::Duration::from_secs(3600))
    );
}
