//! The command line as a user meets it: help texts, each command's options, clap's message
//! for a bad command line, and the one line (with exit status 2) that a bad value of each
//! option gets. The real `todoql` binary runs with an empty environment
//! plus the variables a case sets, so the machine's own TODOQL_* variables cannot leak in.
//!
//! The snapshots pin the wording: a refactoring of the configuration must leave them as
//! they are (`INSTA_UPDATE=always cargo test -p todoql-server --test cli` rewrites them when
//! a change is meant).

use std::process::Command;

/// An encryption key of the right shape (64 hex digits).
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What the binary printed and how it ended.
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

fn todoql(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_todoql"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the todoql binary runs");
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The pool's default depends on the machine's cores; everything else in the help is fixed.
fn without_machine_defaults(help: &str) -> String {
    let pool = "[env: TODOQL_DB_MAX_CONNECTIONS=]";
    let Some(at) = help.find(pool) else {
        return help.to_owned();
    };
    let after = at + pool.len();
    let default = after
        + help[after..]
            .find("[default: ")
            .expect("the pool has a default");
    let end = default + help[default..].find(']').expect("a default ends with ]");
    format!(
        "{}[default: 4 per core, 4 to 16 (machine-dependent){}",
        &help[..default],
        &help[end..]
    )
}

fn help_of(args: &[&str]) -> String {
    let run = todoql(args, &[]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr, "");
    without_machine_defaults(&run.stdout)
}

#[test]
fn help_says_what_todoql_is_and_lists_the_commands() {
    let help = help_of(&["--help"]);
    assert!(help.starts_with("todoql serves a GraphQL API"), "{help}");
    insta::assert_snapshot!("help", help);
}

#[test]
fn serve_help_lists_every_option_with_its_variable_and_default() {
    insta::assert_snapshot!("serve_help", help_of(&["serve", "--help"]));
}

#[test]
fn short_serve_help_is_one_line_per_option() {
    insta::assert_snapshot!("short_help", help_of(&["serve", "-h"]));
}

#[test]
fn migrate_help_lists_its_actions_and_only_the_database_and_log_options() {
    insta::assert_snapshot!("migrate_help", help_of(&["migrate", "--help"]));
}

#[test]
fn purge_and_audit_help_list_only_the_options_they_use() {
    insta::assert_snapshot!("purge_help", help_of(&["purge", "--help"]));
    insta::assert_snapshot!("audit_help", help_of(&["audit", "--help"]));
}

#[test]
fn schema_help_is_short() {
    let help = help_of(&["schema", "--help"]);
    assert!(help.lines().count() <= 10, "{help}");
    assert!(!help.contains("--database-url"), "{help}");
    insta::assert_snapshot!("schema_help", help);
}

#[test]
fn schema_ignores_the_servers_variables_even_bad_ones() {
    let run = todoql(
        &["schema"],
        &[
            ("TODOQL_JWT_SECRET", "short"),
            ("DATABASE_URL", "mysql://nope"),
            ("TODOQL_LOG_FORMAT", "xml"),
        ],
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("type Query"), "{}", run.stdout);
    assert_eq!(run.stderr, "");
}

#[test]
fn options_belong_to_their_command() {
    let run = todoql(&["schema", "--jwt-secret", "x"], &[]);
    assert_eq!(run.status, Some(2));
    assert!(
        run.stderr
            .starts_with("error: unexpected argument '--jwt-secret' found"),
        "{}",
        run.stderr
    );
    // The database and log options are migrate's, but not the server's.
    let run = todoql(&["migrate", "status", "--listen", "127.0.0.1:1"], &[]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("'--listen'"), "{}", run.stderr);
}

#[test]
fn a_mistyped_flag_gets_did_you_mean() {
    let run = todoql(&["--lisen", "127.0.0.1:1"], &[]);
    assert_eq!(run.status, Some(2));
    assert!(
        run.stderr
            .contains("tip: a similar argument exists: '--listen'"),
        "{}",
        run.stderr
    );
    let run = todoql(&["migrate", "status", "--databse-url", "x"], &[]);
    assert!(
        run.stderr
            .contains("tip: a similar argument exists: '--database-url'"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_value_or_argument_is_named() {
    let run = todoql(&["--listen"], &[]);
    assert_eq!(run.status, Some(2));
    assert!(
        run.stderr
            .contains("a value is required for '--listen <LISTEN>'"),
        "{}",
        run.stderr
    );
    let run = todoql(&["audit"], &[]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("--email <EMAIL>"), "{}", run.stderr);
    let run = todoql(&["migrate"], &[]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("<ACTION>"), "{}", run.stderr);
}

#[test]
fn a_bad_value_of_a_fixed_set_lists_the_allowed_ones_on_its_line() {
    let run = todoql(&["--log-format", "jsn", "--check-config"], &[]);
    assert_eq!(run.status, Some(2));
    assert_eq!(
        run.stderr,
        "todoql: TODOQL_LOG_FORMAT (--log-format): invalid value 'jsn' for '--log-format <LOG_FORMAT>'; possible values: text, json; did you mean 'json'?\n"
    );
}

/// A fresh SQLite database in a temporary directory, as `DATABASE_URL`.
fn sqlite_database() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    (dir, url)
}

#[test]
fn migrate_status_prints_a_table_on_stdout_whatever_the_log_level() {
    let (_dir, url) = sqlite_database();
    let env = [("DATABASE_URL", url.as_str()), ("TODOQL_LOG", "warn")];
    let before = todoql(&["migrate", "status"], &env);
    assert_eq!(before.status, Some(0), "{}", before.stderr);
    let mut lines = before.stdout.lines();
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["MIGRATION", "STATUS"])
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 7, "{}", before.stdout);
    assert!(
        rows.iter().all(|row| row.ends_with("  pending")),
        "{}",
        before.stdout
    );
    assert!(before.stdout.contains("m20261123_000001_initial_schema"));

    assert_eq!(todoql(&["migrate", "up"], &env).status, Some(0));
    let after = todoql(&["migrate", "status"], &env);
    assert_eq!(after.status, Some(0), "{}", after.stderr);
    assert!(
        after
            .stdout
            .lines()
            .skip(1)
            .all(|row| row.ends_with("  applied")),
        "{}",
        after.stdout
    );
}

#[test]
fn migrate_fresh_without_yes_exits_2_and_drops_nothing() {
    let (_dir, url) = sqlite_database();
    let env = [("DATABASE_URL", url.as_str()), ("TODOQL_LOG", "warn")];
    assert_eq!(todoql(&["migrate", "up"], &env).status, Some(0));

    let refused = todoql(&["migrate", "fresh"], &env);
    assert_eq!(refused.status, Some(2));
    assert_eq!(refused.stdout, "");
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let status = todoql(&["migrate", "status"], &env);
    assert!(!status.stdout.contains("pending"), "{}", status.stdout);

    let fresh = todoql(&["migrate", "fresh", "--yes"], &env);
    assert_eq!(fresh.status, Some(0), "{}", fresh.stderr);
}

#[test]
fn version_is_the_crate_version() {
    let run = todoql(&["--version"], &[]);
    assert_eq!(run.status, Some(0));
    assert_eq!(
        run.stdout,
        format!("todoql {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// A bad configuration: options on the command line and variables in the environment.
struct Case {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const fn flags(args: &'static [&'static str]) -> Case {
    Case { args, env: &[] }
}

const fn vars(env: &'static [(&'static str, &'static str)]) -> Case {
    Case { args: &[], env }
}

/// Every case, as `$ VARS todoql ARGS` followed by the exit status and what was printed. Each
/// command line (the server's, without a command) ends in `--check-config`, which opens no
/// database: a case that parsed would exit 0, which the snapshot would show.
fn transcript(cases: &[Case]) -> String {
    let mut text = String::new();
    for case in cases {
        let mut args = case.args.to_vec();
        args.push("--check-config");
        let run = todoql(&args, case.env);
        let env: Vec<String> = case
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v:?} "))
            .collect();
        text.push_str(&format!("$ {}todoql {}\n", env.concat(), args.join(" ")));
        text.push_str(&format!("exit {:?}\n", run.status));
        if run.status == Some(0) {
            assert_eq!(run.stdout, "");
            text.push_str("(parsed: the configuration is valid)\n");
        } else {
            assert_eq!(run.stdout, "", "nothing on stdout for {:?}", case.args);
            assert_eq!(
                run.stderr.lines().count(),
                1,
                "one line for {:?}: {}",
                case.args,
                run.stderr
            );
            text.push_str(&run.stderr);
        }
        text.push('\n');
    }
    text
}

#[test]
fn a_bad_listen_address_is_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--listen", "nope"]),
        flags(&["--listen", "127.0.0.1:99999"]),
        flags(&["--metrics-listen", "x"]),
        vars(&[("TODOQL_LISTEN", "localhost")]),
    ]));
}

#[test]
fn bad_http_options_are_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--cors-origins", "nope"]),
        flags(&["--cors-origins", "https://ok.example,ftp://files.example"]),
        vars(&[("TODOQL_CORS_ORIGINS", "nope")]),
        flags(&["--trust-proxy", "maybe"]),
        flags(&["--body-limit", "0"]),
        flags(&["--request-timeout", "30s"]),
        flags(&["--shutdown-timeout", "-1"]),
    ]));
}

#[test]
fn bad_database_options_are_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--database-url", "mysql://root@localhost/todoql"]),
        vars(&[("DATABASE_URL", "mysql://root@localhost/todoql")]),
        flags(&["--db-max-connections", "0"]),
        vars(&[("TODOQL_DB_MAX_CONNECTIONS", "many")]),
        vars(&[("TODOQL_NO_MIGRATE", "maybe")]),
        flags(&["--purge-interval", "hourly"]),
    ]));
}

#[test]
fn bad_session_options_are_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--jwt-secret", "short"]),
        vars(&[("TODOQL_JWT_SECRET", "short")]),
        flags(&["--access-token-ttl", "0"]),
        flags(&["--access-token-ttl", "86401"]),
        flags(&["--refresh-grace", "10s"]),
        flags(&["--reauth-max-age", "0"]),
        flags(&["--require-verified-email", "maybe"]),
    ]));
}

#[test]
fn bad_mail_options_are_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--app-url", "ftp://files.example"]),
        flags(&["--app-url", "not a url"]),
        flags(&["--smtp-url", "ftp://mail.example"]),
        flags(&["--smtp-url", "smtp://mail.example?tls=bogus"]),
        vars(&[("TODOQL_SMTP_URL", "mail.example")]),
        flags(&["--mail-from", "not an address"]),
        flags(&["--mail-retry-base", "1m"]),
        flags(&["--mail-max-attempts", "0"]),
    ]));
}

#[test]
fn bad_operation_limits_are_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--introspection", "maybe"]),
        flags(&["--max-depth", "0"]),
        vars(&[("TODOQL_MAX_DEPTH", "0")]),
        flags(&["--max-complexity", "-1"]),
        flags(&["--max-tokens", "lots"]),
        flags(&["--max-batch", "0"]),
    ]));
}

#[test]
fn bad_rate_limits_are_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--signin-failures-per-email", "0"]),
        flags(&["--signin-failures-per-ip", "0"]),
        flags(&["--mails-per-address", "0"]),
        flags(&["--code-guesses-per-address", "0"]),
        flags(&["--mails-per-ip", "0"]),
        vars(&[("TODOQL_CODE_GUESSES_PER_IP", "none")]),
    ]));
}

#[test]
fn bad_log_options_are_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--log", "[[["]),
        flags(&["--log-format", "xml"]),
        vars(&[("TODOQL_LOG_FORMAT", "xml")]),
    ]));
}

#[test]
fn bad_oauth_options_are_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--encryption-key", "abc"]),
        flags(&["--oauth-redirect-uris", "/relative"]),
        flags(&["--oauth-redirect-uris", "https://app.example/cb#fragment"]),
        flags(&["--oauth-github-api-url", "http://api.example"]),
        flags(&["--oauth-google-issuer", "not a url"]),
        flags(&["--oidc-providers", "github"]),
        flags(&["--oidc-providers", "bad name"]),
        vars(&[("TODOQL_OIDC_PROVIDERS", "google")]),
        flags(&["--oidc-provider", "name=corp"]),
        flags(&["--oidc-provider", "corp"]),
        flags(&["--oidc-provider", "name=corp,colour=blue"]),
        flags(&[
            "--oidc-provider",
            "name=corp,issuer=http://sso.example,client-id=a,client-secret=b",
        ]),
        flags(&[
            "--oidc-provider",
            "name=corp,issuer=https://sso.example,client-id=a,client-secret=",
        ]),
    ]));
}

#[test]
fn a_bad_passkey_relying_party_is_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--webauthn-origins", "not a url"]),
        flags(&["--webauthn-rp-id", "example.org"]),
        vars(&[
            ("TODOQL_APP_URL", "https://app.example.com"),
            (
                "TODOQL_WEBAUTHN_ORIGINS",
                "https://app.example.com,https://evil.example.org"
            ),
        ]),
    ]));
}

#[test]
fn a_half_configured_oauth_provider_is_named() {
    insta::assert_snapshot!(transcript(&[
        flags(&["--oauth-github-client-id", "id"]),
        flags(&["--oauth-github-client-secret", "s"]),
        vars(&[("TODOQL_OAUTH_GOOGLE_CLIENT_ID", "id")]),
        flags(&["--oauth-google-client-secret", "s"]),
        flags(&[
            "--oauth-github-client-id",
            "id",
            "--oauth-github-client-secret",
            "s"
        ]),
        flags(&[
            "--oauth-github-client-id",
            "id",
            "--oauth-github-client-secret",
            "s",
            "--encryption-key",
            KEY,
        ]),
    ]));
}

#[test]
fn a_bad_oidc_provider_from_the_environment_is_named() {
    insta::assert_snapshot!(transcript(&[
        vars(&[("TODOQL_OIDC_PROVIDERS", "corp")]),
        vars(&[
            ("TODOQL_OIDC_PROVIDERS", "corp"),
            ("TODOQL_OIDC_CORP_ISSUER", "https://sso.example"),
            ("TODOQL_OIDC_CORP_CLIENT_ID", "id"),
        ]),
        vars(&[
            ("TODOQL_OIDC_PROVIDERS", "corp"),
            ("TODOQL_OIDC_CORP_ISSUER", "http://sso.example"),
            ("TODOQL_OIDC_CORP_CLIENT_ID", "id"),
            ("TODOQL_OIDC_CORP_CLIENT_SECRET", "s"),
        ]),
        Case {
            args: &[
                "--oidc-provider",
                "name=corp,issuer=https://a.example,client-id=a,client-secret=b",
                "--encryption-key",
                KEY,
                "--oauth-redirect-uris",
                "https://app.example/cb",
            ],
            env: &[
                ("TODOQL_OIDC_PROVIDERS", "corp"),
                ("TODOQL_OIDC_CORP_ISSUER", "https://sso.example"),
                ("TODOQL_OIDC_CORP_CLIENT_ID", "id"),
                ("TODOQL_OIDC_CORP_CLIENT_SECRET", "s"),
            ],
        },
    ]));
}

#[test]
fn a_bad_command_line_gets_claps_whole_message() {
    let mut text = String::new();
    for args in [
        &["bogus"][..],
        &["serv"],
        &["--no-such-option"],
        &["--max-depth", "3", "--max-depth", "4"],
        &["migrate", "sideways"],
        &["--max-depth", "3", "schema"],
    ] {
        let run = todoql(args, &[]);
        assert_eq!(run.status, Some(2), "{args:?}");
        assert_eq!(run.stdout, "");
        text.push_str(&format!("$ todoql {}\n{}\n", args.join(" "), run.stderr));
    }
    insta::assert_snapshot!(text);
}

/// A value that must not appear in any output.
const SECRET: &str = "hunter2-do-not-print";

#[test]
fn a_bad_secret_is_described_never_echoed() {
    let secret = |value: &str| value.replace("SECRET", SECRET);
    let cases: Vec<Vec<String>> = vec![
        vec!["--jwt-secret".into(), secret("SECRET")],
        vec![
            "--database-url".into(),
            secret("mysql://root:SECRET@localhost/todoql"),
        ],
        vec!["--smtp-url".into(), secret("smtp://user:SECRET@")],
        vec![
            "--smtp-url".into(),
            secret("smtp://user:SECRET@mail.example?tls=bogus"),
        ],
        vec!["--smtp-url".into(), secret("SECRET")],
        vec!["--encryption-key".into(), secret("SECRET")],
        vec!["--oauth-github-client-secret".into(), secret("SECRET")],
        vec!["--oauth-google-client-secret".into(), secret("SECRET")],
        vec!["--oidc-provider".into(), secret("client-secret=SECRET")],
        vec![
            "--oidc-provider".into(),
            secret("name=x,client-secret=SECRET,colour=blue"),
        ],
        vec![
            "--jwt-secret".into(),
            secret("SECRET-long-enough-to-be-a-key-0123456789"),
            "--jwt-secret".into(),
            secret("SECRET-long-enough-to-be-a-key-0123456789"),
        ],
    ];
    let mut text = String::new();
    for mut args in cases {
        args.push("--check-config".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = todoql(&args, &[]);
        assert_eq!(run.status, Some(2), "{args:?}: {}", run.stderr);
        assert!(
            !run.stderr.contains(SECRET),
            "{args:?} echoed the secret: {}",
            run.stderr
        );
        text.push_str(&run.stderr);
    }
    for variable in [
        "TODOQL_JWT_SECRET",
        "DATABASE_URL",
        "TODOQL_SMTP_URL",
        "TODOQL_ENCRYPTION_KEY",
    ] {
        let run = todoql(&["--check-config"], &[(variable, SECRET)]);
        assert_eq!(run.status, Some(2), "{variable}: {}", run.stderr);
        assert!(!run.stderr.contains(SECRET), "{variable}: {}", run.stderr);
        text.push_str(&run.stderr);
    }
    insta::assert_snapshot!(text);
}

#[test]
fn help_shows_the_values_of_plain_variables_but_never_of_secrets() {
    let env = [
        ("TODOQL_LISTEN", "127.0.0.1:9999"),
        ("TODOQL_JWT_SECRET", SECRET),
        ("DATABASE_URL", SECRET),
        ("TODOQL_SMTP_URL", SECRET),
        ("TODOQL_ENCRYPTION_KEY", SECRET),
        ("TODOQL_OAUTH_GITHUB_CLIENT_SECRET", SECRET),
        ("TODOQL_OAUTH_GOOGLE_CLIENT_SECRET", SECRET),
    ];
    for help in ["--help", "-h"] {
        let run = todoql(&["serve", help], &env);
        assert_eq!(run.status, Some(0));
        assert!(
            run.stdout.contains("[env: TODOQL_LISTEN=127.0.0.1:9999]"),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
    }
    for command in ["migrate", "purge", "audit"] {
        let run = todoql(&[command, "--help"], &env);
        assert_eq!(run.status, Some(0));
        assert!(run.stdout.contains("[env: DATABASE_URL]"), "{}", run.stdout);
        assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
    }
}
