//! The `tracehouse` command line: `serve` (the default) runs the server with the embedded store;
//! `query` searches a running server; `loadgen` and `demo` send it generated traffic
//! (`tracehouse-workload`); `check` verifies a data directory; `bench` runs the benchmark
//! harness, the separate `tracehouse-bench` binary; `openapi` prints the JSON API's OpenAPI
//! document.

mod bench;
mod check;
mod cli;
mod demo;
mod loadgen;
mod query;
mod serve;

use std::process::ExitCode;

use clap::Parser;

/// The allocator (see `tracehouse_server::allocator`).
#[global_allocator]
static ALLOCATOR: tracehouse_server::allocator::Allocator =
    tracehouse_server::allocator::Allocator {};

fn main() -> anyhow::Result<ExitCode> {
    tracehouse_server::allocator::init();
    let cli = cli::Cli::parse();
    let runtime = tracehouse_server::runtime::build()?;
    match cli.command.unwrap_or_default() {
        cli::Command::Serve(args) => runtime.block_on(serve::run(*args)),
        cli::Command::Query(args) => runtime.block_on(query::run(args)),
        cli::Command::Loadgen(args) => runtime.block_on(loadgen::run(args)),
        cli::Command::Demo(args) => runtime.block_on(demo::run(args)),
        cli::Command::DemoShop(args) => runtime.block_on(demo::shop::run(args)),
        cli::Command::Check(args) => check::run(args),
        cli::Command::Openapi => {
            println!("{}", tracehouse_server::api::openapi_json()?);
            Ok(())
        }
        // The harness's exit status is the command's.
        cli::Command::Bench(args) => return bench::run(args),
    }?;
    Ok(ExitCode::SUCCESS)
}
