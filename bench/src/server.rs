//! The server under test: the `todoql` binary started as a subprocess (so that its memory and
//! CPU time can be read from /proc), or a server already running at `--url`.

use anyhow::{Context as _, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fixed JWT secret of benchmark servers.
pub const JWT_SECRET: &str = "todoql-bench-secret-todoql-bench-secret";

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `todoql` binary (or, for a floor, this bench binary).
    pub binary: PathBuf,
    /// Its arguments (`serve` for todoql).
    pub args: Vec<String>,
    /// The cores of `--pin`.
    pub cores: Option<crate::pin::Cores>,
    /// DATABASE_URL.
    pub database_url: String,
    /// Where its log goes.
    pub log_file: PathBuf,
    /// Extra environment (e.g. TODOQL_DB_MAX_CONNECTIONS) given on the bench's command line.
    pub extra_env: Vec<(String, String)>,
}

/// A server started by the bench; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// From spawn to the first 200 from /readyz.
    pub ready_after: Duration,
}

impl Server {
    /// Starts the server on a free port and waits until /readyz answers 200 (at most 60 s:
    /// the first start applies the migrations).
    pub async fn start(launch: &Launch) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log_file)
            .with_context(|| format!("opening {}", launch.log_file.display()))?;
        let mut command = Command::new(&launch.binary);
        command
            .args(&launch.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &launch.database_url)
            .env("TODOQL_LISTEN", addr.to_string())
            .env("TODOQL_JWT_SECRET", JWT_SECRET)
            // Rate limits count failures and mails only; the bench makes neither, but a limit
            // must never be what a figure measures.
            .env("TODOQL_SIGNIN_FAILURES_PER_EMAIL", "1000000000")
            .env("TODOQL_SIGNIN_FAILURES_PER_IP", "1000000000")
            .env("TODOQL_MAILS_PER_ADDRESS", "1000000000")
            .env("TODOQL_CODE_GUESSES_PER_ADDRESS", "1000000000")
            .env("TODOQL_MAILS_PER_IP", "1000000000")
            .env("TODOQL_CODE_GUESSES_PER_IP", "1000000000")
            .envs(
                launch
                    .extra_env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let started = Instant::now();
        let child = crate::pin::spawn(&mut command, launch.cores)
            .with_context(|| format!("starting {}", launch.binary.display()))?;
        let mut server = Server {
            child: Some(child),
            addr,
            ready_after: Duration::ZERO,
        };
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Some(child) = server.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "the server exited with {status} before it was ready; see {}",
                    launch.log_file.display()
                );
            }
            if ready(addr).await {
                server.ready_after = started.elapsed();
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!(
                    "the server was not ready after 60 s; see {}",
                    launch.log_file.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then waits (SIGKILL after 20 s).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.terminate().await
    }

    async fn terminate(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                bail!("the server did not stop within 20 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Whether GET /readyz answers 200.
pub async fn ready(addr: SocketAddr) -> bool {
    match crate::load::Connection::open(addr).await {
        Ok(mut conn) => matches!(
            conn.send(crate::load::Call::get("/readyz")).await,
            Ok((status, _)) if status == 200
        ),
        Err(_) => false,
    }
}

/// The release `todoql` beside this executable (built first with `cargo build --release -p
/// todoql-server` when the bench runs under cargo, so that it is never stale).
pub fn default_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .context("the bench executable has no directory")?;
    let release = dir.file_name().is_some_and(|n| n == "release");
    let target = if release {
        dir.to_path_buf()
    } else {
        // A debug bench still benchmarks the release server: target/release.
        dir.parent()
            .context("the bench executable is not in a target directory")?
            .join("release")
    };
    if let Some(cargo) = std::env::var_os("CARGO") {
        eprintln!("building the release server: cargo build --release -p todoql-server");
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "todoql-server",
                "--bin",
                "todoql",
            ])
            .status()
            .context("running cargo build")?;
        if !status.success() {
            bail!("cargo build --release -p todoql-server failed");
        }
    }
    let binary = target.join("todoql");
    if !Path::new(&binary).exists() {
        bail!(
            "{} does not exist: build it with `cargo build --release -p todoql-server` or pass --server-bin",
            binary.display()
        );
    }
    Ok(binary)
}
