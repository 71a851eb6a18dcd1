//! The results: what was run where, the table, and the budgets of issues 8 and 19 beside the
//! figures.

use crate::load::{GroupResult, Usage};
use crate::probe::{self, Machine};
use crate::stats::median;
use serde::Serialize;
use std::fmt::Write as _;

/// How the run was configured.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub smoke: bool,
    pub connections: usize,
    pub flood: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub users: usize,
    pub todos_per_user: usize,
    pub depth_todos: usize,
    pub page: usize,
    pub cold_starts: usize,
    pub server_env: Vec<String>,
    /// Rounds of scenario 7.
    pub rounds: usize,
    /// Servers on one core, the load on another.
    pub pin: bool,
    /// Scenario 8: idle subscribers, sockets per user, timed changes.
    pub subscribers: usize,
    pub sockets_per_user: usize,
    pub changes: usize,
}

/// One measured run of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub scenario: u8,
    pub name: String,
    pub groups: Vec<GroupResult>,
    pub usage: Usage,
}

impl Phase {
    fn requests(&self) -> u64 {
        self.groups.iter().map(|g| g.total.requests).sum()
    }

    /// Server CPU time per request of the whole phase, µs.
    pub fn server_cpu_us(&self) -> Option<f64> {
        let requests = self.requests();
        self.usage
            .server_cpu_s
            .filter(|_| requests > 0)
            .map(|s| s * 1e6 / requests as f64)
    }

    /// PostgreSQL CPU time per request of the whole phase, µs.
    pub fn postgres_cpu_us(&self) -> Option<f64> {
        let requests = self.requests();
        self.usage
            .postgres_cpu_s
            .filter(|_| requests > 0)
            .map(|s| s * 1e6 / requests as f64)
    }

    fn errors(&self) -> u64 {
        self.groups
            .iter()
            .map(|g| g.total.errors + g.transport_errors)
            .sum()
    }
}

/// Everything measured on one database.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseReport {
    pub database: &'static str,
    /// First start, including the migrations, ms.
    pub first_start_ms: Option<f64>,
    /// Starts on the migrated database, spawn to the first 200 of /readyz, ms.
    pub cold_start_ms: Vec<f64>,
    /// RSS one second after the start, before any request, MB.
    pub idle_rss_mb: Option<f64>,
    /// RSS two seconds after the last scenario, MB.
    pub idle_rss_after_mb: Option<f64>,
    /// Seconds spent seeding.
    pub seed_s: f64,
    pub phases: Vec<Phase>,
    /// Scenario 7: todoql against its floors.
    pub comparison: Option<crate::comparison::Comparison>,
    /// Scenario 8: idle subscribers and the delay of live changes.
    pub live: Option<crate::live::LiveReport>,
}

impl DatabaseReport {
    pub fn new(database: &'static str) -> Self {
        Self {
            database,
            first_start_ms: None,
            cold_start_ms: Vec::new(),
            idle_rss_mb: None,
            idle_rss_after_mb: None,
            seed_s: 0.0,
            phases: Vec::new(),
            comparison: None,
            live: None,
        }
    }

    pub fn push(&mut self, phase: Phase) {
        self.phases.push(phase);
    }

    fn phase(&self, scenario: u8, name_starts: &str) -> Option<&Phase> {
        self.phases
            .iter()
            .find(|p| p.scenario == scenario && p.name.starts_with(name_starts))
    }

    fn cold_start_median(&self) -> Option<f64> {
        (!self.cold_start_ms.is_empty()).then(|| median(self.cold_start_ms.clone()))
    }
}

/// A target of issue 8 and what was measured against it.
#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub scenario: String,
    pub database: String,
    pub target: String,
    pub measured: String,
    /// None in smoke runs (small data, debug builds: not judged) or when not measured.
    pub met: Option<bool>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub started_at: String,
    pub machine: Machine,
    pub postgres_version: Option<String>,
    pub server_bin: Option<String>,
    pub load_average_start: f64,
    pub load_average_end: f64,
    pub settings: Settings,
    pub databases: Vec<DatabaseReport>,
    pub budgets: Vec<Budget>,
}

impl Report {
    pub fn new(settings: &Settings, started_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            machine: probe::machine(),
            postgres_version: None,
            server_bin: None,
            load_average_start: probe::load_average(),
            load_average_end: f64::NAN,
            settings: settings.clone(),
            databases: Vec::new(),
            budgets: Vec::new(),
        }
    }

    /// Requests that failed, over every phase.
    pub fn errors(&self) -> u64 {
        let phases: u64 = self
            .databases
            .iter()
            .flat_map(|d| &d.phases)
            .map(Phase::errors)
            .sum();
        let comparisons: u64 = self
            .databases
            .iter()
            .filter_map(|d| d.comparison.as_ref())
            .map(crate::comparison::Comparison::errors)
            .sum();
        let live: u64 = self
            .databases
            .iter()
            .filter_map(|d| d.live.as_ref())
            .map(crate::live::LiveReport::errors)
            .sum();
        phases + comparisons + live
    }

    /// Closes the run: load average, budgets.
    pub fn finish(&mut self) {
        self.load_average_end = probe::load_average();
        let judged = !self.settings.smoke;
        let verdict = |ok: bool| judged.then_some(ok);
        let mut budgets = Vec::new();
        let postgres_list_rps = self
            .databases
            .iter()
            .find(|d| d.database == "PostgreSQL")
            .and_then(|d| d.phase(2, "todos"))
            .map(|p| p.groups[0].total.requests_per_second);
        for db in &self.databases {
            let name = db.database.to_owned();
            let budget =
                |scenario: &str, target: &str, measured: String, met: Option<bool>| Budget {
                    scenario: scenario.to_owned(),
                    database: name.clone(),
                    target: target.to_owned(),
                    measured,
                    met,
                };
            if let (Some(healthz), Some(typename)) =
                (db.phase(1, "GET /healthz"), db.phase(1, "{ __typename }"))
                && let (Some(h), Some(t)) = (healthz.server_cpu_us(), typename.server_cpu_us())
            {
                let ratio = t / h;
                budgets.push(budget(
                    "1 layer cost",
                    "{ __typename } ≤ 2.5 × GET /healthz server CPU per request",
                    format!("{t:.0} µs vs {h:.0} µs: {ratio:.2} ×"),
                    verdict(ratio <= 2.5),
                ));
            }
            if let Some(list) = db.phase(2, "todos") {
                let l = &list.groups[0].total;
                let (target, floor) = match (db.database, postgres_list_rps) {
                    ("PostgreSQL", _) | (_, None) => ("≥ 2,600 requests/s".to_owned(), 2600.0),
                    (_, Some(pg)) => (
                        format!("≥ 2,600 requests/s and ≥ PostgreSQL ({pg:.0})"),
                        pg.max(2600.0),
                    ),
                };
                budgets.push(budget(
                    "2 todo list",
                    &target,
                    format!("{:.0} requests/s", l.requests_per_second),
                    verdict(l.requests_per_second >= floor),
                ));
                budgets.push(budget(
                    "2 todo list",
                    "p99 ≤ 25 ms",
                    format!("p99 {:.1} ms", l.p99_ms),
                    verdict(l.p99_ms <= 25.0),
                ));
            }
            if let (Some(alone), Some(flood)) = (db.phase(2, "todos"), db.phase(4, "todos under")) {
                let a = alone.groups[0].total.p99_ms;
                let f = flood.groups[0].total.p99_ms;
                budgets.push(budget(
                    "4 isolation",
                    "todo list p99 under a signIn flood ≤ 2 × alone",
                    format!("{f:.1} ms vs {a:.1} ms: {:.2} ×", f / a),
                    verdict(f <= 2.0 * a),
                ));
            }
            let page = self.settings.page;
            for label in ["nodes", "nodes + totalCount"] {
                if let (Some(first), Some(far)) = (
                    db.phase(5, &format!("page 1: {label}")),
                    db.phase(5, &format!("page {page}: {label}")),
                ) {
                    let a = &first.groups[0].total;
                    let b = &far.groups[0].total;
                    // At a fixed number of connections, time per request = 1 / throughput.
                    let ratio = a.requests_per_second / b.requests_per_second;
                    budgets.push(budget(
                        "5 depth",
                        &format!("page {page} ≤ 1.2 × page 1 ({label})"),
                        format!(
                            "{:.0} vs {:.0} requests/s: {ratio:.2} × (p50 {:.2} vs {:.2} ms)",
                            b.requests_per_second, a.requests_per_second, b.p50_ms, a.p50_ms
                        ),
                        verdict(ratio <= 1.2),
                    ));
                }
            }
            if let Some(idle) = db.idle_rss_mb {
                budgets.push(budget(
                    "6 memory",
                    "idle RSS ≤ 30 MB",
                    match db.idle_rss_after_mb {
                        Some(after) => format!("{idle:.1} MB (after the load: {after:.1} MB)"),
                        None => format!("{idle:.1} MB"),
                    },
                    verdict(idle <= 30.0 && db.idle_rss_after_mb.is_none_or(|a| a <= 30.0)),
                ));
            }
            let peaks: Vec<(f64, &str)> = db
                .phases
                .iter()
                .filter_map(|p| p.usage.rss_peak_mb.map(|m| (m, p.name.as_str())))
                .collect();
            if let Some((peak, at)) = peaks.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0)) {
                budgets.push(budget(
                    "6 memory",
                    "peak RSS ≤ 100 MB in every scenario",
                    format!("{peak:.1} MB (highest: {at})"),
                    verdict(peak <= 100.0),
                ));
            }
            if let Some(comparison) = &db.comparison {
                for (scenario, target, measured, met) in comparison_budgets(comparison) {
                    budgets.push(budget(scenario, &target, measured, met.and_then(verdict)));
                }
            }
            if let Some(live) = &db.live {
                for (target, measured, met) in live_budgets(live) {
                    budgets.push(budget(
                        "8 live changes",
                        &target,
                        measured,
                        met.and_then(verdict),
                    ));
                }
            }
            if let Some(median) = db.cold_start_median() {
                budgets.push(budget(
                    "6 start",
                    "cold start to /readyz ≤ 300 ms (median)",
                    format!("{median:.0} ms (of {:?})", rounded(&db.cold_start_ms)),
                    verdict(median <= 300.0),
                ));
            }
        }
        self.budgets = budgets;
    }
}

/// The budgets of issue 19 against the medians of scenario 7.
fn comparison_budgets(
    c: &crate::comparison::Comparison,
) -> Vec<(&'static str, String, String, Option<bool>)> {
    use crate::comparison::Contender;
    use crate::floor::Kind;
    let (Some(floor), Some(todoql)) = (
        c.row(Contender::Floor(Kind::AxumSqlx)),
        c.row(Contender::Todoql),
    ) else {
        return Vec::new();
    };
    let (f, t) = (&floor.median, &todoql.median);
    let rps = t.requests_per_second / f.requests_per_second;
    let p99 = t.p99_ms / f.p99_ms;
    let single = t.single_p99_ms / f.single_p99_ms;
    let mut out = vec![
        (
            "7 todo list vs floor",
            "≥ 0.75 × the axum + sqlx floor's requests/s (same run)".to_owned(),
            format!(
                "{:.0} vs {:.0} requests/s: {rps:.2} ×",
                t.requests_per_second, f.requests_per_second
            ),
            Some(rps >= 0.75),
        ),
        (
            "7 todo list vs floor",
            "p99 ≤ 1.5 × the floor's".to_owned(),
            format!("{:.1} ms vs {:.1} ms: {p99:.2} ×", t.p99_ms, f.p99_ms),
            Some(p99 <= 1.5),
        ),
        (
            "7 single connection",
            "p99 ≤ 2 × the floor's single-connection p99".to_owned(),
            format!(
                "{:.2} ms vs {:.2} ms: {single:.2} ×",
                t.single_p99_ms, f.single_p99_ms
            ),
            Some(single <= 2.0),
        ),
    ];
    if let Some(rss) = t.rss_after_mb {
        out.push((
            "7 memory",
            "todoql's RSS after the load ≤ 30 MB".to_owned(),
            format!("{rss:.1} MB"),
            Some(rss <= 30.0),
        ));
    }
    out
}

/// The budgets of issue 17: memory per idle socket, and the delivery delay's p99, judged at
/// 1,000 subscribers or more.
fn live_budgets(live: &crate::live::LiveReport) -> Vec<(String, String, Option<bool>)> {
    let judged = live.subscribers >= 1000;
    let at = if judged {
        String::new()
    } else {
        format!(" (only {} subscribers: not judged)", live.subscribers)
    };
    let mut out = Vec::new();
    if let Some(kb) = live.kb_per_socket {
        out.push((
            "server memory per idle subscribed socket < 30 KB".to_owned(),
            format!(
                "{kb:.1} KB × {} sockets ({:.1} → {:.1} MB){at}",
                live.subscribers,
                live.rss_before_mb.unwrap_or(f64::NAN),
                live.rss_subscribed_mb.unwrap_or(f64::NAN)
            ),
            judged.then_some(kb < 30.0),
        ));
    }
    let delay = &live.outcome.from_response;
    out.push((
        format!(
            "delivery p99 < 50 ms at 1,000 subscribers ({})",
            if live.across_instances {
                "change on another instance"
            } else {
                "one instance"
            }
        ),
        format!(
            "p99 {:.2} ms, p50 {:.2} ms over {} deliveries of {} changes{at}",
            delay.p99_ms, delay.p50_ms, live.outcome.deliveries, live.outcome.changes
        ),
        (judged && live.outcome.deliveries > 0).then_some(delay.p99_ms < 50.0),
    ));
    out
}

fn rounded(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.round() as u64).collect()
}

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or("–".into(), |v| format!("{v:.digits$}"))
}

/// One line per phase while the bench runs.
pub fn progress_line(phase: &Phase) -> String {
    let mut line = format!("[{}] {}:", phase.scenario, phase.name);
    for g in &phase.groups {
        let _ = write!(
            line,
            " {} {:.0}/s p50 {:.2} p99 {:.2} ms err {};",
            g.name,
            g.total.requests_per_second,
            g.total.p50_ms,
            g.total.p99_ms,
            g.total.errors + g.transport_errors
        );
    }
    let _ = write!(
        line,
        " server {} µs/req, pg {} µs/req, client CPU {:.0}%, peak {} MB, runnable ≤ {}",
        opt(phase.server_cpu_us(), 0),
        opt(phase.postgres_cpu_us(), 0),
        phase.usage.client_cpu_s / phase.usage.window_s * 100.0,
        opt(phase.usage.rss_peak_mb, 1),
        phase.usage.runnable_max
    );
    line
}

/// The table (Markdown) and the budgets.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.settings;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "todoql-bench{}: {} connections, {:.1} s measured after {:.1} s warm-up per run; {} users × {} todos; depth user {} todos, page {}",
        if s.smoke { " (smoke)" } else { "" },
        s.connections,
        s.duration_s,
        s.warmup_s,
        s.users,
        s.todos_per_user,
        s.depth_todos,
        s.page
    );
    let m = &report.machine;
    let _ = writeln!(
        out,
        "machine: {} cores, {:.1} GB, {}; PostgreSQL {}; load average {:.2} → {:.2}",
        m.cores,
        m.memory_gb,
        m.cpu_model,
        report.postgres_version.as_deref().unwrap_or("–"),
        report.load_average_start,
        report.load_average_end
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| # | database | run | conns | req/s | p50 ms | p99 ms | errors | server CPU µs/req | PG CPU µs/req | client CPU | RSS peak MB |"
    );
    let _ = writeln!(out, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for db in &report.databases {
        for phase in &db.phases {
            for (i, g) in phase.groups.iter().enumerate() {
                let first = i == 0;
                let run = if phase.groups.len() > 1 {
                    format!("{} — {}", phase.name, g.name)
                } else {
                    phase.name.clone()
                };
                let cell = |v: String| if first { v } else { "″".into() };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
                    phase.scenario,
                    db.database,
                    run,
                    g.connections,
                    g.total.requests_per_second,
                    g.total.p50_ms,
                    g.total.p99_ms,
                    g.total.errors + g.transport_errors,
                    cell(opt(phase.server_cpu_us(), 0)),
                    cell(opt(phase.postgres_cpu_us(), 0)),
                    cell(format!(
                        "{:.0}%",
                        phase.usage.client_cpu_s / phase.usage.window_s * 100.0
                    )),
                    cell(opt(phase.usage.rss_peak_mb, 1)),
                );
                for (op, l) in &g.operations {
                    let _ = writeln!(
                        out,
                        "| | | ↳ {op} | | {:.0} | {:.2} | {:.2} | {} | | | | |",
                        l.requests_per_second, l.p50_ms, l.p99_ms, l.errors
                    );
                }
            }
        }
    }
    let _ = writeln!(out);
    for db in &report.databases {
        let _ = writeln!(
            out,
            "{}: first start (with migrations) {} ms; cold starts {:?} ms; idle RSS {} MB, after the load {} MB; seeded in {:.1} s",
            db.database,
            opt(db.first_start_ms, 0),
            rounded(&db.cold_start_ms),
            opt(db.idle_rss_mb, 1),
            opt(db.idle_rss_after_mb, 1),
            db.seed_s
        );
    }
    for db in &report.databases {
        if let Some(c) = &db.comparison {
            render_comparison(&mut out, db.database, c);
        }
    }
    for db in &report.databases {
        if let Some(live) = &db.live {
            let _ = writeln!(out);
            let _ = writeln!(out, "{}", crate::live::summary(db.database, live));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| budget | database | target | measured | met |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for b in &report.budgets {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            b.scenario,
            b.database,
            b.target,
            b.measured,
            match b.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None if s.smoke => "not judged (smoke)",
                None => "not judged",
            }
        );
    }
    out
}

/// Scenario 7's table: the medians of the rounds.
fn render_comparison(out: &mut String, database: &str, c: &crate::comparison::Comparison) {
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Scenario 7 ({database}): medians of {} round(s){}",
        c.rounds,
        match c.pinned {
            Some(cores) => format!(
                "; servers pinned to core {}, the load generator to core {}",
                cores.server, cores.load
            ),
            None => "; not pinned".to_owned(),
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| server | req/s | p99 ms | 1 connection p50 / p99 ms | RSS after load MB | server CPU µs/req | PostgreSQL CPU µs/req | errors |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|");
    for row in &c.rows {
        let m = &row.median;
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.1} | {:.2} / {:.2} | {} | {} | {} | {} |",
            row.label,
            m.requests_per_second,
            m.p99_ms,
            m.single_p50_ms,
            m.single_p99_ms,
            opt(m.rss_after_mb, 1),
            opt(m.server_cpu_us, 0),
            opt(m.postgres_cpu_us, 0),
            m.errors
        );
    }
}
