//! `kubectl sts sandbox`: run the local simulated cluster in the foreground.

use super::Outcome;
use crate::cli::SandboxArgs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::sandbox::{self, SandboxError, SandboxOptions};

pub async fn run(_context: &Context, args: SandboxArgs) -> Result<Outcome> {
    let options = SandboxOptions {
        port: args.port,
        listen: Some(args.listen),
        kubeconfig_out: args.kubeconfig_out,
        data_dir: args.data_dir,
        faults: args.faults,
        start_delay: args.start_delay,
        ready_delay: args.ready_delay,
    };
    sandbox::run_cli(options).await.map_err(|err| match err {
        SandboxError::Faults(_) => Error::Usage(err.to_string()),
        SandboxError::Listen { ref source, .. }
            if source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            Error::Failed(format!(
                "sandbox: {err}\nSomething (another sandbox?) already listens there: pick another --port, or leave it out for any free port."
            ))
        }
        other => Error::Failed(format!("sandbox: {other}")),
    })?;
    Ok(Outcome::Success)
}
