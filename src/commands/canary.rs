//! `kubectl sts canary`.

use super::Outcome;
use crate::cli::CanaryArgs;
use crate::context::Context;
use crate::error::{Error, Result};

pub async fn run(_context: &Context, _args: CanaryArgs) -> Result<Outcome> {
    Err(Error::NotImplemented {
        command: "canary",
        issue: 7,
    })
}
