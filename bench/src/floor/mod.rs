//! The floors of issue 19: the same todo list (the 20 newest todos of one user and the total
//! count, over the same SQL as todoql's) served without todoql's layers, to measure todoql
//! against in the same run.
//!
//! - `axum-sqlx`: axum and an sqlx pool, the page as JSON; no GraphQL, no authentication.
//! - `async-graphql`: a bare async-graphql 7 schema over the same SQL behind async-graphql-axum
//!   (parsed and validated on every request); no authentication.
//!
//! The user is named in the request (there is no session). Both run as a subprocess of the
//! bench (`todoql-bench floor-server …`, the bench binary itself) so that their CPU time and
//! memory are read from /proc like todoql's, and they are pinned like todoql under `--pin`.
//! Each uses a multi-threaded tokio runtime (one worker per available core, as todoql) and an
//! sqlx pool with sqlx's defaults (a ping on every checkout and on every return) and todoql's
//! default size (4 per core, 4 to 16).

pub mod graphql;
mod plain;
mod query;

use clap::{Parser, ValueEnum};
use sea_orm::sqlx::postgres::PgPoolOptions;
use std::net::SocketAddr;

/// The first argument that runs a floor server instead of the benchmark.
pub const SUBCOMMAND: &str = "floor-server";

/// Which floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// axum + sqlx, JSON, no GraphQL.
    AxumSqlx,
    /// A bare async-graphql 7 schema over the same SQL.
    AsyncGraphql,
}

impl Kind {
    /// How the results name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::AxumSqlx => "axum + sqlx, no GraphQL, no auth",
            Self::AsyncGraphql => "bare async-graphql 7 over the same SQL, no auth",
        }
    }

    /// Its name on the command line.
    pub fn arg(self) -> &'static str {
        match self {
            Self::AxumSqlx => "axum-sqlx",
            Self::AsyncGraphql => "async-graphql",
        }
    }
}

/// `todoql-bench floor-server`: serves one floor until SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "todoql-bench floor-server")]
pub struct FloorArgs {
    #[arg(long, value_enum)]
    kind: Kind,
    /// PostgreSQL URL of the seeded bench database.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Address to listen on.
    #[arg(long, env = "TODOQL_LISTEN")]
    listen: SocketAddr,
}

/// Runs a floor server (the process's whole life).
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    let args = FloorArgs::parse_from(args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(serve(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("floor-server: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn serve(args: FloorArgs) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(pool_size())
        .min_connections(1)
        .connect(&args.database_url)
        .await?;
    let router = match args.kind {
        Kind::AxumSqlx => plain::router(pool),
        Kind::AsyncGraphql => graphql::router(pool),
    }
    .route("/readyz", axum::routing::get(|| async { "ready" }));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let stop = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await?;
    Ok(())
}

/// todoql's default pool size: 4 connections per core, 4 to 16.
fn pool_size() -> u32 {
    std::thread::available_parallelism().map_or(8, |n| (n.get() as u32 * 4).clamp(4, 16))
}
