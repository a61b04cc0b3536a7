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
            "refusing to {} without confirmation: no terminal to ask on; pass --yes to proceed",
            lowercase_first(action)
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

/// "Delete pod web-0" as a prompt, "delete pod web-0" inside a sentence.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
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
    fn the_refusal_reads_as_a_sentence() {
        assert_eq!(lowercase_first("Roll back web"), "roll back web");
        assert_eq!(lowercase_first(""), "");
    }

    #[test]
    fn yes_flag_agrees_without_asking() {
        assert!(confirm("delete pod web-0", true).unwrap());
    }
}
