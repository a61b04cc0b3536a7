//! `kubectl sts undo`.

use super::Outcome;
use crate::cli::UndoArgs;
use crate::context::Context;
use crate::error::{Error, Result};

pub async fn run(_context: &Context, _args: UndoArgs) -> Result<Outcome> {
    Err(Error::NotImplemented {
        command: "undo",
        issue: 7,
    })
}
