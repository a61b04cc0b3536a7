//! `kubectl sts verify`.

use super::Outcome;
use crate::cli::VerifyArgs;
use crate::context::Context;
use crate::error::{Error, Result};

pub async fn run(_context: &Context, _args: VerifyArgs) -> Result<Outcome> {
    Err(Error::NotImplemented {
        command: "verify",
        issue: 8,
    })
}
