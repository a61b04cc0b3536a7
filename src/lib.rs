//! kubectl-sts: a kubectl plugin for StatefulSets, and the sandbox cluster it ships with.

pub mod cli;
pub mod commands;
pub mod completion;
pub mod context;
pub mod error;
pub mod inventory;
pub mod output;
pub mod podexec;
pub mod prompt;
pub mod retry;
pub mod revisions;
pub mod sandbox;
pub mod sts;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::Parser;

use crate::commands::Outcome;
use crate::error::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, Error};

/// Run the command line and return the process exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    if args
        .get(1)
        .is_some_and(|a| a == completion::COMPLETE_COMMAND)
    {
        let words: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return finish(commands::completion::run_dynamic(&words));
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            };
            // Printing help to a closed pipe is not worth a panic.
            let _ = err.print();
            return code;
        }
    };
    init_logging(cli.global.verbosity.unwrap_or(0));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return finish(Err(Error::io("starting the async runtime", e))),
    };
    finish(runtime.block_on(commands::run(cli)))
}

fn finish(result: error::Result<Outcome>) -> i32 {
    match result {
        Ok(Outcome::Success) => EXIT_OK,
        Ok(Outcome::Failed) => EXIT_FAILED,
        Err(Error::BrokenPipe) => EXIT_OK,
        Err(err) => {
            // stderr may be a closed pipe too; the exit code still tells.
            let _ = writeln!(std::io::stderr(), "error: {err}");
            err.exit_code()
        }
    }
}

/// -v logs our API calls (kube's request spans), higher levels add HTTP detail.
fn init_logging(verbosity: u8) {
    let filter = match verbosity {
        // kube logs each failed connection and watch error itself; we report them once, in words.
        0 => "warn,kube_client::client::builder=off,kube_runtime::watcher=off",
        1..=5 => "warn,kubectl_sts=debug,kube_client=debug,kube_runtime=debug",
        _ => "debug,hyper=info,h2=info,rustls=info,tower=info",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}
