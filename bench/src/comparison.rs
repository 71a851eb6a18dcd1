//! What a side-by-side run of todoql against the floors found: per-round figures and medians.

use crate::floor::Kind;
use serde::Serialize;

/// One of the three servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Contender {
    Floor(#[serde(serialize_with = "kind_name")] Kind),
    Todoql,
}

fn kind_name<S: serde::Serializer>(kind: &Kind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.arg())
}

impl Contender {
    pub const ALL: [Contender; 3] = [
        Contender::Floor(Kind::AxumSqlx),
        Contender::Floor(Kind::AsyncGraphql),
        Contender::Todoql,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Floor(kind) => kind.label(),
            Self::Todoql => "todoql",
        }
    }
}

/// One server's figures in one round.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub single_p50_ms: f64,
    pub single_p99_ms: f64,
    pub single_max_ms: f64,
    pub rss_after_mb: Option<f64>,
    pub server_cpu_us: Option<f64>,
    pub postgres_cpu_us: Option<f64>,
    /// Wrong answers and transport errors, both loads.
    pub errors: u64,
    /// 1-minute load average at the end of the loaded run.
    pub load_average: f64,
}

/// One server over every round, and the medians.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub contender: Contender,
    pub label: &'static str,
    pub rounds: Vec<Round>,
    pub median: Round,
}

/// Scenario 7's result.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub rounds: usize,
    pub pinned: Option<crate::pin::Cores>,
    pub rows: Vec<Row>,
}

impl Comparison {
    pub fn row(&self, contender: Contender) -> Option<&Row> {
        self.rows.iter().find(|r| r.contender == contender)
    }

    pub fn errors(&self) -> u64 {
        self.rows
            .iter()
            .flat_map(|r| &r.rounds)
            .map(|r| r.errors)
            .sum()
    }
}
