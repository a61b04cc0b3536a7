//! `kubectl sts status`.

use super::Outcome;
use crate::cli::StatusArgs;
use crate::context::Context;
use crate::error::{Error, Result};

pub async fn run(_context: &Context, _args: StatusArgs) -> Result<Outcome> {
    Err(Error::NotImplemented {
        command: "status",
        issue: 9,
    })
}
