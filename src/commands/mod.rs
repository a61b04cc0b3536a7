//! One module per command. Each takes the shared `Context` and its own args,
//! fetches what it needs, calls its pure core, and renders.

pub mod canary;
pub mod completion;
pub mod demo;
pub mod history;
pub mod sandbox;
pub mod status;
pub mod undo;
pub mod verify;
pub mod volumes;
pub mod watch;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::error::Result;

/// How a command ended when it did not hit an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command ran and reported what did not hold.
    Failed,
}

pub async fn run(cli: Cli) -> Result<Outcome> {
    let context = Context::new(cli.global);
    match cli.command {
        Command::Watch(args) => watch::run(&context, args).await,
        Command::Canary(args) => canary::run(&context, args).await,
        Command::Volumes(args) => volumes::run(&context, args).await,
        Command::Verify(args) => verify::run(&context, args).await,
        Command::Status(args) => status::run(&context, args).await,
        Command::History(args) => history::run(&context, args).await,
        Command::Undo(args) => undo::run(&context, args).await,
        Command::Completion(args) => completion::run(&context, args),
        Command::Sandbox(args) => sandbox::run(&context, args).await,
        Command::Demo(args) => demo::run(&context, args).await,
    }
}
