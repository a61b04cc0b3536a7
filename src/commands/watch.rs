//! `kubectl sts watch`.

use super::Outcome;
use crate::cli::WatchArgs;
use crate::context::Context;
use crate::error::{Error, Result};

pub async fn run(_context: &Context, _args: WatchArgs) -> Result<Outcome> {
    Err(Error::NotImplemented {
        command: "watch",
        issue: 5,
    })
}
