//! The `todoql` binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = todoql_server::config::parse_or_exit();
    // `schema` has no log options: it prints the SDL and nothing else. Traces are the
    // server's; the other commands log only. Dropped last: flushes the spans still buffered.
    let no_traces = todoql_server::config::OtlpConfig {
        otlp_endpoint: None,
    };
    let _telemetry = cli.command.logging().map(|logging| {
        todoql_server::telemetry::init(logging, cli.command.otlp().unwrap_or(&no_traces))
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("todoql: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(todoql_server::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("todoql: {err:#}");
            ExitCode::FAILURE
        }
    }
}
