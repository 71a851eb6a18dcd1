//! todoql-bench: does page 500 of the todo list cost what page 1 costs?
//!
//! For each database it starts the real server in-process (HTTP on 127.0.0.1, port 0), signs a
//! user up through GraphQL, seeds that user with N todos directly in the database (multi-row
//! INSERTs in one transaction, not API calls), walks the list to page 500 to get its cursor,
//! then times page 1 and page 500 of `todos(first: 20)` over HTTP, with and without
//! `totalCount`. For reference it also times the OFFSET query that keyset pagination avoids.
//! It prints a table; it asserts nothing.
//!
//! ```sh
//! cargo run --release -p todoql-bench                       # SQLite (a temp file)
//! cargo run --release -p todoql-bench -- \
//!     --postgres-url postgres://postgres@127.0.0.1:5432/postgres   # SQLite and PostgreSQL
//! ```
//! With `--postgres-url`, a fresh database `todoql_bench_<random>` is created there and dropped
//! at the end.

use anyhow::{Context as _, bail};
use chrono::{Duration, Utc};
use clap::Parser;
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set, TransactionTrait};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use todoql_entity::todo;
use todoql_graphql::clock::SystemClock;
use todoql_server::config::Config;

/// Times page 1 and page 500 of todos(first: 20) for a user with many todos.
#[derive(Debug, Parser)]
#[command(name = "todoql-bench")]
struct Args {
    /// How many todos the user gets.
    #[arg(long, default_value_t = 100_000)]
    todos: usize,
    /// Page size (`first`).
    #[arg(long, default_value_t = 20)]
    page_size: usize,
    /// The far page to compare with page 1.
    #[arg(long, default_value_t = 500)]
    page: usize,
    /// Timed requests per measurement (after 5 untimed warm-up requests).
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Also run on PostgreSQL: an admin URL under which a scratch database is created.
    #[arg(long, env = "TODOQL_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Skip SQLite.
    #[arg(long)]
    no_sqlite: bool,
    /// The ordering to page through: CREATED_AT, UPDATED_AT, DUE_DATE or TITLE.
    #[arg(long, default_value = "CREATED_AT", value_parser = ["CREATED_AT", "UPDATED_AT", "DUE_DATE", "TITLE"])]
    order_by: String,
    /// ASC or DESC.
    #[arg(long, default_value = "DESC", value_parser = ["ASC", "DESC"])]
    direction: String,
}

const PASSWORD: &str = "correct horse battery staple";
const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret";
/// Rows per INSERT statement (9 columns: well under both databases' parameter limits).
const ROWS_PER_INSERT: usize = 1000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.page == 0 || args.page_size == 0 || args.page_size > 100 {
        bail!("--page must be positive and --page-size within 1..=100");
    }
    if args.todos < args.page * args.page_size {
        bail!(
            "--todos {} is too few for page {} of {}",
            args.todos,
            args.page,
            args.page_size
        );
    }
    let mut rows = Vec::new();
    if !args.no_sqlite {
        let dir = tempfile::tempdir()?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        rows.extend(run("SQLite", &url, &args).await?);
    }
    if let Some(admin_url) = &args.postgres_url {
        let name = format!("todoql_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url)
            .await
            .context("connecting to PostgreSQL")?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let mut url = url::Url::parse(admin_url)?;
        url.set_path(&format!("/{name}"));
        let result = run("PostgreSQL", url.as_str(), &args).await;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        rows.extend(result?);
    }
    print_table(&args, &rows);
    Ok(())
}

/// One line of the table.
struct Row {
    database: &'static str,
    what: String,
    page: usize,
    stats: Stats,
}

struct Stats {
    median_ms: f64,
    p95_ms: f64,
    mean_ms: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        median_ms: at(0.5),
        p95_ms: at(0.95),
        mean_ms: samples.iter().sum::<f64>() / samples.len() as f64,
    }
}

async fn run(database: &'static str, url: &str, args: &Args) -> anyhow::Result<Vec<Row>> {
    eprintln!("[{database}] starting the server");
    let config = Config::from_args([
        "--database-url",
        url,
        "--jwt-secret",
        JWT_SECRET,
        "--require-verified-email",
        "false",
        "--purge-interval",
        "0",
        "--log",
        "warn",
    ])?;
    let db = todoql_server::db::connect(&config).await?;
    todoql_server::db::migrate_up(&db).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server =
        todoql_server::app::start(config, db.clone(), Arc::new(SystemClock), listener).await?;
    let client = Client {
        http: reqwest::Client::new(),
        endpoint: format!("http://{}/graphql", server.addr),
        token: None,
    };

    let signed_up = client
        .post(
            "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }",
            json!({ "input": { "email": "bench@example.com", "password": PASSWORD } }),
        )
        .await?;
    let user_id: uuid::Uuid = signed_up["signUp"]["user"]["id"]
        .as_str()
        .context("signUp returned no user id")?
        .parse()?;
    let client = Client {
        token: signed_up["signUp"]["accessToken"]
            .as_str()
            .map(str::to_owned),
        ..client
    };

    eprintln!("[{database}] seeding {} todos", args.todos);
    let started = Instant::now();
    seed(&db, user_id, args.todos).await?;
    db.execute_unprepared("ANALYZE").await?;
    eprintln!(
        "[{database}] seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    eprintln!("[{database}] walking to page {} for its cursor", args.page);
    let list = "query($first: Int, $after: String, $orderBy: TodoOrder) { todos(first: $first, after: $after, orderBy: $orderBy) { nodes { id title description dueDate isCompleted completedAt createdAt updatedAt } pageInfo { hasNextPage endCursor } } }";
    let counted = "query($first: Int, $after: String, $orderBy: TodoOrder) { todos(first: $first, after: $after, orderBy: $orderBy) { totalCount nodes { id title description dueDate isCompleted completedAt createdAt updatedAt } pageInfo { hasNextPage endCursor } } }";
    let order_by = json!({ "field": args.order_by, "direction": args.direction });
    let mut after = Value::Null;
    for _ in 1..args.page {
        let page = client
            .post(
                list,
                json!({ "first": args.page_size, "after": after, "orderBy": order_by }),
            )
            .await?;
        after = page["todos"]["pageInfo"]["endCursor"].clone();
    }

    let mut rows = Vec::new();
    for (what, query) in [
        (format!("todos(first: {})", args.page_size), list),
        ("… with totalCount".to_owned(), counted),
    ] {
        for (page, cursor) in [(1, Value::Null), (args.page, after.clone())] {
            let variables =
                json!({ "first": args.page_size, "after": cursor, "orderBy": order_by });
            let check = client.post(query, variables.clone()).await?;
            let returned = check["todos"]["nodes"].as_array().map_or(0, Vec::len);
            if returned != args.page_size {
                bail!("page {page} returned {returned} todos");
            }
            let samples = client.time(query, &variables, args.samples).await?;
            rows.push(Row {
                database,
                what: what.clone(),
                page,
                stats: stats(samples),
            });
        }
    }

    // What keyset pagination avoids: the same page by OFFSET, straight to the database.
    for page in [1, args.page] {
        let column = args.order_by.to_lowercase();
        let direction = &args.direction;
        let nulls = if column == "due_date" {
            " NULLS LAST"
        } else {
            ""
        };
        let sql = format!(
            "SELECT * FROM todos WHERE user_id = {} ORDER BY {column} {direction}{nulls}, id {direction} LIMIT {} OFFSET {}",
            uuid_literal(db.get_database_backend(), user_id),
            args.page_size,
            (page - 1) * args.page_size
        );
        let mut samples = Vec::with_capacity(args.samples);
        for i in 0..args.samples + 5 {
            let started = Instant::now();
            let found = db
                .query_all_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    sql.clone(),
                ))
                .await?;
            if found.len() != args.page_size {
                bail!("OFFSET page {page} returned {} rows", found.len());
            }
            if i >= 5 {
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        rows.push(Row {
            database,
            what: "reference: SQL OFFSET, no HTTP".into(),
            page,
            stats: stats(samples),
        });
    }

    server.shutdown().await?;
    Ok(rows)
}

/// A UUID as a literal of `backend` (SQLite stores UUIDs as 16-byte blobs).
fn uuid_literal(backend: sea_orm::DatabaseBackend, id: uuid::Uuid) -> String {
    match backend {
        sea_orm::DatabaseBackend::Sqlite => format!("X'{}'", id.simple()),
        _ => format!("'{id}'"),
    }
}

/// Inserts `count` todos for `user_id` in one transaction, ROWS_PER_INSERT rows per INSERT.
/// A quarter are completed, half have a due date, a third a description; created_at is one
/// second apart, newest first.
async fn seed(
    db: &sea_orm::DatabaseConnection,
    user_id: uuid::Uuid,
    count: usize,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
    for i in 0..count {
        let created_at = now - Duration::seconds(i as i64) - Duration::microseconds(i as i64 % 997);
        let completed = i % 4 == 0;
        batch.push(todo::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            user_id: Set(user_id),
            title: Set(format!("todo {i:06}")),
            description: Set((i % 3 == 0).then(|| format!("description of todo {i}"))),
            due_date: Set((i % 2 == 0).then(|| now + Duration::hours(1 + (i % 1000) as i64))),
            is_completed: Set(completed),
            completed_at: Set(completed.then_some(created_at)),
            created_at: Set(created_at),
            updated_at: Set(created_at),
        });
        if batch.len() == ROWS_PER_INSERT || i + 1 == count {
            todo::Entity::insert_many(std::mem::take(&mut batch))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

struct Client {
    http: reqwest::Client,
    endpoint: String,
    token: Option<String>,
}

impl Client {
    async fn post(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let body: Value = request.send().await?.json().await?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(body["data"].clone())
    }

    /// Milliseconds per request (full HTTP round trip), after five untimed warm-up requests.
    async fn time(
        &self,
        query: &str,
        variables: &Value,
        samples: usize,
    ) -> anyhow::Result<Vec<f64>> {
        for _ in 0..5 {
            self.post(query, variables.clone()).await?;
        }
        let mut timings = Vec::with_capacity(samples);
        for _ in 0..samples {
            let started = Instant::now();
            self.post(query, variables.clone()).await?;
            timings.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(timings)
    }
}

fn print_table(args: &Args, rows: &[Row]) {
    println!();
    println!(
        "{} todos for one user; orderBy {} {}; {} timed requests each; milliseconds per request",
        args.todos, args.order_by, args.direction, args.samples
    );
    println!();
    println!(
        "| database   | query                                  | page | median | p95    | mean   |"
    );
    println!(
        "|------------|----------------------------------------|-----:|-------:|-------:|-------:|"
    );
    for row in rows {
        println!(
            "| {:<10} | {:<38} | {:>4} | {:>6.2} | {:>6.2} | {:>6.2} |",
            row.database,
            row.what,
            row.page,
            row.stats.median_ms,
            row.stats.p95_ms,
            row.stats.mean_ms
        );
    }
}
