//! Asking before anything is deleted or rewritten.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};

/// Whether the user agreed to `action`: `--yes` agrees; otherwise ask on the
/// terminal (default no). Without a terminal to ask on, refuse rather than guess.
pub fn confirm(action: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::Usage(format!(
            "refusing to {action} without confirmation: no terminal to ask on; pass --yes to proceed"
        )));
    }
    let mut stderr = std::io::stderr();
    write!(stderr, "{action}? [y/N] ")
        .and_then(|()| stderr.flush())
        .map_err(|e| Error::io("writing the prompt", e))?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("reading the answer", e))?;
    Ok(is_yes(&answer))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_yes_agrees() {
        assert!(is_yes("y\n"));
        assert!(is_yes(" YES "));
        assert!(!is_yes("\n"));
        assert!(!is_yes("n"));
        assert!(!is_yes("yep"));
    }

    #[test]
    fn yes_flag_agrees_without_asking() {
        assert!(confirm("delete pod web-0", true).unwrap());
    }
}
