//! The `todoql` binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = todoql_server::config::parse_or_exit();
    // Dropped last: flushes the spans still buffered.
    let _telemetry = todoql_server::telemetry::init(&cli.config.logging, &cli.config.otlp);
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
