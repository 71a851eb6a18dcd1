//! Wiring: configuration → domain state → schema → router → a running server with its
//! background tasks and graceful shutdown.

use crate::config::Config;
use crate::http::{self, HttpState};
use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use todoql_domain::AppState;
use todoql_domain::clock::Clock;
use todoql_graphql::{build_schema, build_traced_schema};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long shutdown waits for the subscription sockets to send their close frames.
const SOCKETS_CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A server listening and serving in the background.
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where /metrics is served when TODOQL_METRICS_LISTEN is set (else on `addr`).
    pub metrics_addr: Option<SocketAddr>,
    /// Its domain state (tests reach the database and clock through it).
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish (bounded) and waits for the end.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("server task panicked")?
    }
}

/// Starts serving on `listener` with `db` and `clock`. Returns once it accepts connections.
pub async fn start(
    config: Config,
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    listener: TcpListener,
) -> anyhow::Result<RunningServer> {
    let state = AppState::new(db, config.settings(), clock);
    let schema = if crate::telemetry::traces_enabled(&config.otlp) {
        build_traced_schema(state.clone(), config.operations.schema_limits())
    } else {
        build_schema(state.clone(), config.operations.schema_limits())
    };
    let oauth_providers: Vec<String> = state
        .settings()
        .oauth
        .providers
        .iter()
        .map(|p| p.name.clone())
        .collect();
    crate::metrics::catalog::register_known_series(&oauth_providers);
    let analyzer = schema
        .data::<Arc<todoql_graphql::schema::cost::CostAnalyzer>>()
        .expect("build_schema gives the schema its cost analyzer")
        .clone();
    let (stop, stopped) = watch::channel(false);
    let sockets = http::live::sockets::Sockets::new(config.live.ws_max_per_user);
    let live = http::live::Live {
        app: state.clone(),
        sockets: sockets.clone(),
        stopped: stopped.clone(),
        ping_interval: config.live.ws_ping_interval,
        send_timeout: config.live.ws_send_timeout,
        origins: config.http.cors_origins.clone().into(),
    };
    let router = http::router(
        HttpState::new(
            schema,
            state.clone(),
            http::documents::Documents::new(analyzer),
            live,
            &config.http,
            &config.operations,
        ),
        &config.http,
    );
    let addr = listener.local_addr()?;
    let metrics_listener = match config.http.metrics_listen {
        Some(wanted) => Some(TcpListener::bind(wanted).await.with_context(|| {
            format!("listening on {wanted} for /metrics (TODOQL_METRICS_LISTEN)")
        })?),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let metrics_serve = metrics_listener.map(|listener| {
        let router = http::metrics_router(state.clone(), &config.http);
        let signal = crate::shutdown::stopped(stopped.clone());
        async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(signal)
                .await
                .context("serving /metrics")
        }
    });
    if let Some(metrics_addr) = metrics_addr {
        tracing::info!("metrics on http://{metrics_addr}/metrics only (TODOQL_METRICS_LISTEN)");
    }

    let background =
        crate::background::spawn(state.clone(), &config, sockets.clone(), stopped.clone())?;
    let shutdown_timeout = config.http.shutdown_timeout;
    let db = state.db().clone();
    let task = tokio::spawn(async move {
        let signal = crate::shutdown::stopped(stopped.clone());
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        let serve = async move {
            let serve = async move { serve.await.context("serving HTTP") };
            match metrics_serve {
                Some(metrics_serve) => {
                    let (main, metrics) = tokio::join!(serve, metrics_serve);
                    main.and(metrics)
                }
                None => serve.await,
            }
        };
        // In-flight requests get `shutdown_timeout` after the signal, then we stop anyway.
        let deadline = async {
            crate::shutdown::stopped(stopped).await;
            tokio::time::sleep(shutdown_timeout).await;
        };
        let result = tokio::select! {
            result = serve => result,
            () = deadline => {
                tracing::warn!("in-flight requests did not finish within the shutdown timeout");
                Ok(())
            }
        };
        // The subscription sockets saw the same signal: let their 1012 close frames go out.
        sockets.closed(SOCKETS_CLOSE_TIMEOUT).await;
        background.stop().await;
        db.close_by_ref().await.ok();
        result
    });
    Ok(RunningServer {
        addr,
        metrics_addr,
        state,
        stop,
        task,
    })
}
