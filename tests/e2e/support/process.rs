//! The real `todoql` binary as a child process: for what only a process shows (exit codes,
//! signals, the environment, several instances on one database).

use serde_json::{Value, json};

use super::gql::Gql;

/// The `todoql` binary built for this test run.
pub fn todoql_bin() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_todoql"));
    // A clean environment: only what the test sets (plus PATH) reaches the binary.
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `todoql serve` process with its output captured, stopped (SIGTERM) on drop.
pub struct ServerProcess {
    /// The child process.
    pub child: std::process::Child,
    /// http://127.0.0.1:PORT
    pub base_url: String,
    stderr_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the binary with `envs` and waits until /readyz answers 200; its stderr goes to
    /// a file that [`ServerProcess::log`] reads.
    pub async fn start(database_url: &str, envs: &[(&str, &str)]) -> ServerProcess {
        let dir = tempfile::tempdir().unwrap();
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let process =
            Self::start_with_stderr(database_url, envs, stderr.into(), dir, stderr_path).await;
        // The log is written by a thread of its own, in order: once the start's last line is
        // in the file, every line before it (migrations, listeners, the mail transport) is too.
        let log = process
            .log_when(|log| log.contains("todoql listening on"))
            .await;
        assert!(
            log.contains("todoql listening on"),
            "no start line; log:\n{log}"
        );
        process
    }

    /// [`ServerProcess::start`] with stderr a pipe that the test reads, or leaves unread, from
    /// `child.stderr` ([`ServerProcess::log`] then has nothing).
    pub async fn start_with_stderr_piped(
        database_url: &str,
        envs: &[(&str, &str)],
    ) -> ServerProcess {
        let dir = tempfile::tempdir().unwrap();
        let no_file = dir.path().join("stderr is piped");
        Self::start_with_stderr(
            database_url,
            envs,
            std::process::Stdio::piped(),
            dir,
            no_file,
        )
        .await
    }

    async fn start_with_stderr(
        database_url: &str,
        envs: &[(&str, &str)],
        stderr: std::process::Stdio,
        dir: tempfile::TempDir,
        stderr_path: std::path::PathBuf,
    ) -> ServerProcess {
        let port = free_port();
        let mut command = todoql_bin();
        command
            .env("TODOQL_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .stdout(std::process::Stdio::null())
            .stderr(stderr);
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = command.spawn().expect("start todoql");
        let process = ServerProcess {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            stderr_path,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client
                .get(format!("{}/readyz", process.base_url))
                .send()
                .await
                && response.status() == 200
            {
                return process;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server did not become ready; log:\n{}", process.log());
    }

    /// The log once `done` holds for it, polling for up to 20 s (the log as it is then, if
    /// never): for a line that a request or a background task logs, which the server's log
    /// thread writes a moment after.
    pub async fn log_when(&self, done: impl Fn(&str) -> bool) -> String {
        let read = || std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let log = read();
            if done(&log) || tokio::time::Instant::now() > deadline {
                return log;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Everything the process wrote to stderr so far. The server writes its log from a
    /// thread of its own, so a line reaches the file shortly after the request that logged it
    /// was answered: this reads the file once it has stopped growing for 100 ms (or after 5 s).
    pub fn log(&self) -> String {
        let read = || std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut log = read();
        loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = read();
            if now.len() == log.len() || std::time::Instant::now() > deadline {
                return now;
            }
            log = now;
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = self.child.kill();
        panic!("server did not stop within 10 s after SIGTERM");
    }

    /// POSTs a GraphQL operation.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request = reqwest::Client::new()
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Gql::from(request.send().await.expect("request")).await
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
