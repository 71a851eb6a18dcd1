//! Everything measured on one database: start the server (or reach the one at --url), seed,
//! time cold starts, sign the users in, run the scenarios, read the memory, then compare
//! with the floors (PostgreSQL).

use crate::args::Args;
use crate::client::sign_in_all;
use crate::load::{Observed, Timing, bearer};
use crate::report::{DatabaseReport, Settings};
use crate::scenarios::{self, PAGE_SIZE, Stage};
use crate::seed::{self, Seeded};
use crate::server::{Launch, Server};
use crate::{compare, probe};
use anyhow::Context as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Where one database's run happens.
pub struct Run<'a> {
    /// "SQLite" or "PostgreSQL".
    pub database: &'static str,
    pub settings: &'a Settings,
    pub database_url: &'a str,
    /// The PostgreSQL database's name (for its statistics).
    pub pg_name: Option<&'a str>,
    /// How to start the server; `None` for the one at --url.
    pub launch: Option<&'a Launch>,
    pub args: &'a Args,
}

/// The server for one database: one we started, or one at --url.
struct Target {
    addr: SocketAddr,
    pid: Option<u32>,
    server: Option<Server>,
}

impl Target {
    fn started(server: Server) -> Self {
        Self {
            addr: server.addr,
            pid: server.pid(),
            server: Some(server),
        }
    }
}

/// The seeded users: those with a list of todos, and the one with the long list.
struct Users {
    listed: Vec<Seeded>,
    deep: Vec<Seeded>,
}

/// The signed-in users' credentials.
struct SignedIn {
    /// Addresses of the users with a list (for the signIn flood).
    emails: Vec<String>,
    tokens: Vec<String>,
    deep_token: String,
}

impl Run<'_> {
    /// Runs everything on this database and gives its part of the report.
    pub async fn measure(&self) -> anyhow::Result<DatabaseReport> {
        let mut out = DatabaseReport::new(self.database);
        // First start: applies the migrations.
        let target = self.first_start(&mut out).await?;
        if [1, 2, 3, 4, 5, 7].iter().any(|&s| self.runs(s)) {
            self.load_scenarios(target, &mut out).await?;
        } else if let Some(server) = target.server {
            server.stop().await?;
        }
        if self.runs(8) {
            self.live(&mut out).await?;
        }
        Ok(out)
    }

    /// Seeding, cold starts and scenarios 1 to 7 (those asked for), on the first server.
    async fn load_scenarios(
        &self,
        mut target: Target,
        out: &mut DatabaseReport,
    ) -> anyhow::Result<()> {
        let settings = self.settings;
        let users = self.seed(out).await?;
        if let Some(server) = target.server.take() {
            target = self.cold_starts(server, out).await?;
        }
        if let Some(pid) = target.pid {
            tokio::time::sleep(Duration::from_secs(1)).await;
            out.idle_rss_mb = probe::rss_mb(pid);
        }

        let signed_in = self.sign_in(target.addr, &users).await?;
        let timing = Timing {
            warmup: Duration::from_secs_f64(settings.warmup_s),
            duration: Duration::from_secs_f64(settings.duration_s),
        };
        let stage = Stage {
            addr: target.addr,
            timing,
            observed: Observed {
                server_pid: target.pid,
                postgres_database: self.pg_name,
            },
            connections: settings.connections,
        };
        self.scenarios(&stage, &signed_in, out).await?;

        if let Some(pid) = target.pid {
            tokio::time::sleep(Duration::from_secs(2)).await;
            out.idle_rss_after_mb = probe::rss_mb(pid);
        }
        if let Some(server) = target.server {
            server.stop().await?;
        }
        if self.runs(7) {
            self.compare(&users, timing, out).await?;
        }
        Ok(())
    }

    /// Scenario 8: idle subscribers and the delay of live changes, with servers of its own.
    async fn live(&self, out: &mut DatabaseReport) -> anyhow::Result<()> {
        let Some(launch) = self.launch else {
            eprintln!("[8] skipped: it starts its own servers (not with --url)");
            return Ok(());
        };
        out.live = Some(
            crate::live::run(crate::live::Setup {
                database: self.database,
                launch,
                database_url: self.database_url,
                subscribers: self.settings.subscribers,
                per_user: self.settings.sockets_per_user,
                changes: self.settings.changes,
            })
            .await?,
        );
        Ok(())
    }

    fn runs(&self, scenario: u8) -> bool {
        self.args.scenarios.contains(&scenario)
    }

    /// Starts the server (which migrates the database), or finds the one at --url.
    async fn first_start(&self, out: &mut DatabaseReport) -> anyhow::Result<Target> {
        match self.launch {
            Some(launch) => {
                let server = Server::start(launch).await?;
                out.first_start_ms = Some(ms(server.ready_after));
                Ok(Target::started(server))
            }
            None => {
                let url = self.args.url.as_ref().context("--url")?;
                let addr = url
                    .socket_addrs(|| Some(80))?
                    .into_iter()
                    .next()
                    .context("--url has no address")?;
                Ok(Target {
                    addr,
                    pid: self.args.server_pid,
                    server: None,
                })
            }
        }
    }

    /// Seeds the users and their todos straight through the database.
    async fn seed(&self, out: &mut DatabaseReport) -> anyhow::Result<Users> {
        let (database, settings) = (self.database, self.settings);
        eprintln!(
            "[{database}] seeding {} users × {} todos and one user with {} todos",
            settings.users, settings.todos_per_user, settings.depth_todos
        );
        let started = Instant::now();
        let db = seed::connect(self.database_url).await?;
        let listed = seed::users(&db, "user", settings.users).await?;
        seed::todos(&db, &listed, settings.todos_per_user).await?;
        let deep = seed::users(&db, "deep", 1).await?;
        seed::todos(&db, &deep, settings.depth_todos).await?;
        seed::analyze(&db).await?;
        db.close().await.ok();
        out.seed_s = started.elapsed().as_secs_f64();
        eprintln!("[{database}] seeded in {:.1} s", out.seed_s);
        Ok(Users { listed, deep })
    }

    /// Stops the first server and times starts on the migrated database; the last server
    /// stays up.
    async fn cold_starts(&self, first: Server, out: &mut DatabaseReport) -> anyhow::Result<Target> {
        let launch = self.launch.context("no server to start")?;
        first.stop().await?;
        let mut last = None;
        for _ in 0..self.settings.cold_starts {
            if let Some(server) = last.take() {
                Server::stop(server).await?;
            }
            let server = Server::start(launch).await?;
            out.cold_start_ms.push(ms(server.ready_after));
            last = Some(server);
        }
        let server = last.context("no server")?;
        eprintln!(
            "[{}] cold starts to /readyz: {:?} ms",
            self.database, out.cold_start_ms
        );
        Ok(Target::started(server))
    }

    /// Signs every seeded user in over the API.
    async fn sign_in(&self, addr: SocketAddr, users: &Users) -> anyhow::Result<SignedIn> {
        let settings = self.settings;
        eprintln!(
            "[{}] signing {} users in",
            self.database,
            settings.users + 1
        );
        let mut emails: Vec<String> = users.listed.iter().map(|u| u.email.clone()).collect();
        let tokens = sign_in_all(addr, &emails).await?;
        let deep_token = sign_in_all(addr, &[users.deep[0].email.clone()])
            .await?
            .remove(0);
        emails.truncate(settings.users);
        Ok(SignedIn {
            emails,
            tokens,
            deep_token,
        })
    }

    /// Scenarios 1 to 5 (those asked for), in the order 1, 2, 4, 5, 3: the writes last, so
    /// that the reads see the seeded lists.
    async fn scenarios(
        &self,
        stage: &Stage<'_>,
        signed_in: &SignedIn,
        out: &mut DatabaseReport,
    ) -> anyhow::Result<()> {
        let bearers: Vec<_> = signed_in.tokens.iter().map(|t| bearer(t)).collect();
        if self.runs(1) {
            for phase in scenarios::layer_cost(stage, &bearers).await? {
                out.push(phase);
            }
        }
        let list_calls = scenarios::todo_list_calls(&bearers);
        if self.runs(2) || self.runs(4) {
            out.push(scenarios::todo_list(stage, &list_calls).await?);
        }
        if self.runs(4) {
            let flood = self.settings.flood;
            out.push(scenarios::isolation(stage, &list_calls, flood, &signed_in.emails).await?);
        }
        if self.runs(5) {
            let (token, page) = (&signed_in.deep_token, self.settings.page);
            for phase in scenarios::depth(stage, self.database, token, page).await? {
                out.push(phase);
            }
        }
        if self.runs(3) {
            out.push(scenarios::writes(stage, &signed_in.tokens).await?);
        }
        Ok(())
    }

    /// Scenario 7: todoql against its floors, on PostgreSQL, with servers of its own.
    async fn compare(
        &self,
        users: &Users,
        timing: Timing,
        out: &mut DatabaseReport,
    ) -> anyhow::Result<()> {
        match (self.database, self.launch, self.pg_name) {
            ("PostgreSQL", Some(launch), Some(pg_name)) => {
                out.comparison = Some(
                    compare::run(compare::Setup {
                        todoql: launch,
                        postgres_database: pg_name,
                        users: &users.listed,
                        connections: self.settings.connections,
                        rounds: self.settings.rounds,
                        timing,
                        page_size: PAGE_SIZE,
                    })
                    .await?,
                );
            }
            ("PostgreSQL", _, _) => {
                eprintln!("[7] skipped: it starts its own servers (not with --url)")
            }
            _ => {}
        }
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
