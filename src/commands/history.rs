//! `kubectl sts history`.

use super::Outcome;
use crate::cli::HistoryArgs;
use crate::context::Context;
use crate::error::{Error, Result};

pub async fn run(_context: &Context, _args: HistoryArgs) -> Result<Outcome> {
    Err(Error::NotImplemented {
        command: "history",
        issue: 7,
    })
}
