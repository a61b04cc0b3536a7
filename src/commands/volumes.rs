//! `kubectl sts volumes`.

use super::Outcome;
use crate::cli::VolumesArgs;
use crate::context::Context;
use crate::error::{Error, Result};

pub async fn run(_context: &Context, _args: VolumesArgs) -> Result<Outcome> {
    Err(Error::NotImplemented {
        command: "volumes",
        issue: 6,
    })
}
