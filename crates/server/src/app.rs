//! Wiring: configuration → domain state → schema → router → a running server with its
//! background tasks and graceful shutdown.

use crate::config::Config;
use crate::http::{self, HttpState};
use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use todoql_domain::clock::Clock;
use todoql_domain::settings::{Limit, RateLimits};
use todoql_domain::{AppState, Settings};
use todoql_graphql::{SchemaLimits, build_schema};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The domain settings described by the configuration.
pub fn settings(config: &Config) -> Settings {
    let secret = match &config.jwt_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None => {
            tracing::warn!(
                "TODOQL_JWT_SECRET is not set: using a random key. Access tokens will not survive a \
                 restart and several instances cannot share sessions. Set a secret of at least 32 bytes in production."
            );
            let mut key = vec![0u8; 32];
            todoql_domain::secrets::fill_random(&mut key);
            key
        }
    };
    let mut settings = Settings::new(secret);
    settings.require_verified_email = config.require_verified_email;
    settings.app_url = config.app_url.clone();
    settings.access_token_ttl = chrono::Duration::seconds(i64::from(config.access_token_ttl));
    settings.refresh_grace = chrono::Duration::from_std(config.refresh_grace).unwrap_or_default();
    settings.oauth = config.oauth.clone();
    let quarter_hour = chrono::Duration::minutes(15);
    let hour = chrono::Duration::hours(1);
    settings.rate_limits = RateLimits {
        failed_sign_ins_per_email: Limit {
            max: config.signin_failures_per_email,
            window: quarter_hour,
        },
        failed_sign_ins_per_ip: Limit {
            max: config.signin_failures_per_ip,
            window: quarter_hour,
        },
        mails_per_address: Limit {
            max: config.mails_per_address,
            window: hour,
        },
        mails_per_ip: Limit {
            max: config.mails_per_ip,
            window: hour,
        },
        code_guesses_per_address: Limit {
            max: config.code_guesses_per_address,
            window: hour,
        },
        code_guesses_per_ip: Limit {
            max: config.code_guesses_per_ip,
            window: hour,
        },
    };
    settings.reauth_max_age = chrono::Duration::seconds(i64::from(config.reauth_max_age));
    settings
}

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
    let state = AppState::new(db, settings(&config), clock);
    let schema = build_schema(
        state.clone(),
        SchemaLimits {
            max_depth: config.max_depth as usize,
            max_complexity: config.max_complexity as usize,
            max_tokens: config.max_tokens as usize,
            introspection: config.introspection,
        },
    );
    let analyzer = schema
        .data::<Arc<todoql_graphql::schema::cost::CostAnalyzer>>()
        .expect("build_schema gives the schema its cost analyzer")
        .clone();
    let router = http::router(
        HttpState {
            schema,
            app: state.clone(),
            max_batch: config.max_batch as usize,
            trust_proxy: config.trust_proxy,
            body_limit: config.body_limit as usize,
            documents: http::documents::Documents::new(analyzer),
        },
        &config,
    );
    let addr = listener.local_addr()?;
    let metrics_listener = match config.metrics_listen {
        Some(wanted) => Some(TcpListener::bind(wanted).await.with_context(|| {
            format!("listening on {wanted} for /metrics (TODOQL_METRICS_LISTEN)")
        })?),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let (stop, stopped) = watch::channel(false);
    let metrics_serve = metrics_listener.map(|listener| {
        let router = http::metrics_router(state.clone(), &config);
        let signal = wait_for(stopped.clone());
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

    let background = crate::background::spawn(state.clone(), &config, stopped.clone())?;
    let shutdown_timeout = config.shutdown_timeout;
    let db = state.db().clone();
    let task = tokio::spawn(async move {
        let signal = wait_for(stopped.clone());
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
            wait_for(stopped).await;
            tokio::time::sleep(shutdown_timeout).await;
        };
        let result = tokio::select! {
            result = serve => result,
            () = deadline => {
                tracing::warn!("in-flight requests did not finish within the shutdown timeout");
                Ok(())
            }
        };
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

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        if stopped.changed().await.is_err() {
            return;
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
