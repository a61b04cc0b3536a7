//! `kubectl sts sandbox`: run the local simulated cluster in the foreground.

use super::Outcome;
use crate::cli::SandboxArgs;
use crate::context::Context;
use crate::error::{Error, Result};

pub async fn run(_context: &Context, _args: SandboxArgs) -> Result<Outcome> {
    Err(Error::NotImplemented {
        command: "sandbox",
        issue: 3,
    })
}
