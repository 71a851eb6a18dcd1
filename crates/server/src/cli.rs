//! The subcommands: serve, migrate, schema, purge, audit.

use crate::config::{Cli, Command, Config, MigrateAction};
use anyhow::Context as _;
use std::sync::Arc;
use todoql_domain::clock::SystemClock;
use todoql_migration::{Migrator, MigratorTrait};

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate { action } => migrate(&cli.config, action).await,
        Command::Schema => {
            print!("{}", todoql_graphql::sdl());
            Ok(())
        }
        Command::Purge => purge(&cli.config).await,
        Command::Audit(args) => crate::audit::print(&cli.config, args).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Building the metrics recorder calibrates its clock (quanta: up to 200 ms of spinning on
    // this machine's virtual TSC, measured as cold starts of 290 or 490 ms). It needs nothing
    // else, so it runs on its own thread while the database connects and migrates.
    let metrics_recorder = tokio::task::spawn_blocking(crate::metrics::handle);
    let db = if config.database.no_migrate {
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

async fn migrate(config: &Config, action: MigrateAction) -> anyhow::Result<()> {
    use crate::db::Migration;
    let db = crate::db::connect(&config.database)
        .await
        .context("connecting to the database")?;
    match action {
        MigrateAction::Up => crate::db::run(&db, Migration::Up).await?,
        MigrateAction::Down => crate::db::run(&db, Migration::Down).await?,
        MigrateAction::Status => Migrator::status(&db).await?,
        MigrateAction::Fresh => crate::db::run(&db, Migration::Fresh).await?,
    }
    db.close().await.ok();
    Ok(())
}

async fn purge(config: &Config) -> anyhow::Result<()> {
    let db = crate::db::connect(&config.database)
        .await
        .context("connecting to the database")?;
    let state = todoql_domain::AppState::new(db, config.settings(), Arc::new(SystemClock));
    let report = todoql_domain::maintenance::purge(&state)
        .await
        .map_err(|err| anyhow::anyhow!("purge failed: {err:?}"))?;
    println!("{report:?}");
    Ok(())
}
