//! The subcommands: serve, migrate, schema, purge, audit.

use crate::config::{Cli, Command, Config, MigrateAction, MigrateArgs, PurgeArgs};
use anyhow::Context as _;
use std::sync::Arc;
use todoql_domain::clock::SystemClock;

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        // Parsing checked everything already (`parse_or_exit`).
        Command::Serve(args) if args.check_config => Ok(()),
        Command::Serve(args) => serve(args.config).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Schema => {
            print!("{}", todoql_graphql::sdl());
            Ok(())
        }
        Command::Purge(args) => purge(args).await,
        Command::Audit(args) => crate::audit::print(args).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Building the metrics recorder calibrates its clock (quanta: up to 200 ms of spinning on
    // this machine's virtual TSC, measured as cold starts of 290 or 490 ms). It needs nothing
    // else, so it runs on its own thread while the database connects and migrates.
    let metrics_recorder = tokio::task::spawn_blocking(crate::metrics::handle);
    let db = if config.startup.no_migrate {
        let db = crate::db::connect(&config.database)
            .await
            .context("connecting to the database")?;
        refuse_pending_migrations(&db).await?;
        db
    } else {
        crate::db::connect_migrated(&config).await?
    };
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    metrics_recorder
        .await
        .context("building the metrics recorder")?;
    let server = crate::app::start(config, db, Arc::new(SystemClock), listener).await?;
    tracing::info!(
        "todoql listening on http://{addr} (GraphiQL at http://{addr}/graphql), ready in {ms} ms",
        addr = server.addr,
        ms = started.elapsed().as_millis()
    );
    crate::shutdown::os_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

/// With TODOQL_NO_MIGRATE someone else migrates; serving a schema this binary does not
/// expect would fail request by request, so a pending migration stops the start instead.
async fn refuse_pending_migrations(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    let pending = crate::db::pending_migrations(db)
        .await
        .context("reading which migrations are applied")?;
    if !pending.is_empty() {
        anyhow::bail!(
            "TODOQL_NO_MIGRATE is set and {} migration(s) are pending: {}. Run `todoql migrate up` \
             first (or start without TODOQL_NO_MIGRATE to apply them at start)",
            pending.len(),
            pending.join(", ")
        );
    }
    tracing::info!("not applying migrations (TODOQL_NO_MIGRATE); none is pending");
    Ok(())
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    use crate::db::Migration;
    if matches!(args.action, MigrateAction::Fresh) && !args.yes {
        // Before connecting: a refusal touches nothing. Status 2, as for any bad command line.
        eprintln!(
            "todoql: `migrate fresh` drops every table and all their data; run `todoql migrate fresh --yes` to do it"
        );
        std::process::exit(2);
    }
    let db = crate::db::connect(&args.database)
        .await
        .context("connecting to the database")?;
    match args.action {
        MigrateAction::Up => crate::db::run(&db, Migration::Up).await?,
        MigrateAction::Down => crate::db::run(&db, Migration::Down).await?,
        MigrateAction::Status => crate::db::print_status(&db).await?,
        MigrateAction::Fresh => crate::db::run(&db, Migration::Fresh).await?,
    }
    db.close().await.ok();
    Ok(())
}

async fn purge(args: PurgeArgs) -> anyhow::Result<()> {
    let db = crate::db::connect(&args.database)
        .await
        .context("connecting to the database")?;
    let mut settings = crate::config::offline_settings();
    settings.audit_retention = args.retention.audit_retention();
    settings.changes_retention = args.retention.changes_retention();
    let state = todoql_domain::AppState::new(db, settings, Arc::new(SystemClock));
    let report = todoql_domain::maintenance::purge(&state)
        .await
        .map_err(|err| anyhow::anyhow!("purge failed: {err:?}"))?;
    println!("{report:?}");
    Ok(())
}
