//! Shell completion: static scripts generated from the clap definition, and the
//! dynamic completion kubectl asks plugins for.
//!
//! kubectl (1.26+) completes `kubectl sts <TAB>` by running
//! `kubectl_complete-sts` from PATH with the words typed after `sts` plus the
//! word being completed (`""` for a new one). It expects cobra's protocol: one
//! candidate per line (`value<TAB>description`), then a `:<directive>` line.
//! `completions/kubectl_complete-sts` runs `kubectl-sts __complete "$@"`.

use clap::{Command as ClapCommand, CommandFactory};
use clap_complete::Shell as CompleteShell;

use crate::cli::{Cli, GlobalArgs, Shell};

/// The hidden subcommand that answers kubectl's completion requests.
pub const COMPLETE_COMMAND: &str = "__complete";

/// Cobra directives (bit flags).
pub const DIRECTIVE_ERROR: u32 = 1;
pub const DIRECTIVE_NO_SPACE: u32 = 2;
pub const DIRECTIVE_NO_FILE: u32 = 4;
pub const DIRECTIVE_DEFAULT: u32 = 0;

/// The completion script for a shell, for the binary `kubectl-sts`.
pub fn script(shell: Shell) -> String {
    let generator = match shell {
        Shell::Bash => CompleteShell::Bash,
        Shell::Zsh => CompleteShell::Zsh,
        Shell::Fish => CompleteShell::Fish,
        Shell::Powershell => CompleteShell::PowerShell,
    };
    let mut command = Cli::command();
    let mut buffer = Vec::new();
    clap_complete::generate(generator, &mut command, "kubectl-sts", &mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}

/// The file each script is shipped as under `completions/`.
pub fn script_file_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "kubectl-sts.bash",
        Shell::Zsh => "_kubectl-sts",
        Shell::Fish => "kubectl-sts.fish",
        Shell::Powershell => "kubectl-sts.ps1",
    }
}

pub const ALL_SHELLS: [Shell; 4] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell];

/// One completion candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub value: String,
    pub description: String,
}

/// Values that only the cluster or the kubeconfig can supply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    StatefulSets,
    Namespaces,
    Contexts,
}

/// What to offer for the word being completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Candidates(Vec<Candidate>, u32),
    /// Ask the cluster/kubeconfig; `prefix` is prepended to each value (`--namespace=`).
    Lookup {
        lookup: Lookup,
        prefix: String,
        partial: String,
    },
    /// Let the shell complete file names.
    Files,
}

/// The words typed so far, as the completion engine understood them.
#[derive(Debug, Default, Clone)]
pub struct TypedWords {
    pub global: GlobalArgs,
    subcommand: Option<String>,
    positionals: usize,
}

fn find_arg<'a>(
    command: &'a ClapCommand,
    root: &'a ClapCommand,
    flag: &str,
) -> Option<&'a clap::Arg> {
    let matches = |arg: &&clap::Arg| {
        if let Some(long) = flag.strip_prefix("--") {
            arg.get_long() == Some(long)
        } else if let Some(short) = flag.strip_prefix('-') {
            let mut chars = short.chars();
            chars.next() == arg.get_short() && chars.next().is_none()
        } else {
            false
        }
    };
    command
        .get_arguments()
        .find(matches)
        .or_else(|| root.get_arguments().find(matches))
}

fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values() && arg.get_long() != Some("v")
}

/// The values a flag offers, when they are fixed.
fn flag_values(arg: &clap::Arg) -> Vec<Candidate> {
    arg.get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| Candidate {
            value: v.get_name().to_string(),
            description: v.get_help().map(|h| h.to_string()).unwrap_or_default(),
        })
        .collect()
}

fn value_completion(arg: &clap::Arg, prefix: &str, partial: &str) -> Completion {
    let lookup = match arg.get_long() {
        Some("namespace") => Some(Lookup::Namespaces),
        Some("context") => Some(Lookup::Contexts),
        _ => None,
    };
    if let Some(lookup) = lookup {
        return Completion::Lookup {
            lookup,
            prefix: prefix.to_string(),
            partial: partial.to_string(),
        };
    }
    let values = flag_values(arg);
    if values.is_empty() {
        if matches!(
            arg.get_value_hint(),
            clap::ValueHint::FilePath | clap::ValueHint::AnyPath
        ) || arg.get_value_names().is_some_and(|names| {
            names
                .iter()
                .any(|n| matches!(n.as_str(), "FILE" | "PATH" | "DIR"))
        }) {
            return Completion::Files;
        }
        return Completion::Candidates(Vec::new(), DIRECTIVE_NO_FILE);
    }
    Completion::Candidates(
        values
            .into_iter()
            .filter(|c| c.value.starts_with(partial))
            .map(|c| Candidate {
                value: format!("{prefix}{}", c.value),
                description: c.description,
            })
            .collect(),
        DIRECTIVE_NO_FILE,
    )
}

/// Commands whose first positional is a StatefulSet name.
fn takes_statefulset_name(subcommand: &str) -> bool {
    matches!(
        subcommand,
        "watch" | "canary" | "volumes" | "verify" | "status" | "history" | "undo"
    )
}

/// Decide what to complete, without I/O. `words` are the words after the
/// plugin name; the last one is the word being completed.
pub fn complete(words: &[String]) -> (TypedWords, Completion) {
    let mut root = Cli::command();
    root.build();
    let (current, typed) = match words.split_last() {
        Some((current, typed)) => (current.as_str(), typed),
        None => ("", &[][..]),
    };

    let mut state = TypedWords::default();
    let mut index = 0;
    while index < typed.len() {
        let word = typed[index].as_str();
        index += 1;
        let command = state
            .subcommand
            .as_deref()
            .and_then(|name| root.find_subcommand(name))
            .unwrap_or(&root);
        if word.starts_with('-') && word.len() > 1 {
            let (flag, inline_value) = match word.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_string())),
                None => (word, None),
            };
            let Some(arg) = find_arg(command, &root, flag) else {
                continue;
            };
            if !takes_value(arg) {
                continue;
            }
            let value = match inline_value {
                Some(value) => Some(value),
                None if index < typed.len() => {
                    index += 1;
                    Some(typed[index - 1].clone())
                }
                None => None,
            };
            match (arg.get_long(), value) {
                (Some("namespace"), Some(v)) => state.global.namespace = Some(v),
                (Some("context"), Some(v)) => state.global.context = Some(v),
                (Some("kubeconfig"), Some(v)) => state.global.kubeconfig = Some(v.into()),
                // Look up names as the identity the command would run as.
                (Some("cluster"), Some(v)) => state.global.cluster = Some(v),
                (Some("user"), Some(v)) => state.global.user = Some(v),
                (Some("as"), Some(v)) => state.global.impersonate = Some(v),
                (Some("as-group"), Some(v)) => state.global.impersonate_groups.push(v),
                _ => {}
            }
        } else if state.subcommand.is_none() {
            state.subcommand = Some(word.to_string());
        } else {
            state.positionals += 1;
        }
    }

    let command = state
        .subcommand
        .as_deref()
        .and_then(|name| root.find_subcommand(name))
        .unwrap_or(&root);

    // A value for the flag just typed (`-n <TAB>`).
    if let Some(previous) = typed.last().map(String::as_str)
        && previous.starts_with('-')
        && !previous.contains('=')
        && let Some(arg) = find_arg(command, &root, previous)
        && takes_value(arg)
    {
        let completion = value_completion(arg, "", current);
        return (state, completion);
    }

    if let Some((flag, partial)) = current.split_once('=')
        && flag.starts_with('-')
    {
        let completion = match find_arg(command, &root, flag) {
            Some(arg) if takes_value(arg) => value_completion(arg, &format!("{flag}="), partial),
            _ => Completion::Candidates(Vec::new(), DIRECTIVE_NO_FILE),
        };
        return (state, completion);
    }

    if current.starts_with('-') {
        let mut flags: Vec<Candidate> = Vec::new();
        let mut add = |arg: &clap::Arg| {
            if arg.is_hide_set() {
                return;
            }
            let description = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if let Some(long) = arg.get_long() {
                flags.push(Candidate {
                    value: format!("--{long}"),
                    description: description.clone(),
                });
            }
            if let Some(short) = arg.get_short() {
                flags.push(Candidate {
                    value: format!("-{short}"),
                    description,
                });
            }
        };
        command.get_arguments().for_each(&mut add);
        if state.subcommand.is_some() {
            root.get_arguments()
                .filter(|a| a.is_global_set())
                .for_each(&mut add);
        }
        flags.retain(|c| c.value.starts_with(current));
        flags.dedup_by(|a, b| a.value == b.value);
        return (state, Completion::Candidates(flags, DIRECTIVE_NO_FILE));
    }

    let completion = match state.subcommand.as_deref() {
        None => Completion::Candidates(
            root.get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name().starts_with(current))
                .map(|s| Candidate {
                    value: s.get_name().to_string(),
                    description: s.get_about().map(|a| a.to_string()).unwrap_or_default(),
                })
                .collect(),
            DIRECTIVE_NO_FILE,
        ),
        Some("completion") if state.positionals == 0 => {
            match command.get_arguments().find(|a| a.get_id() == "shell") {
                Some(arg) => value_completion(arg, "", current),
                None => Completion::Candidates(Vec::new(), DIRECTIVE_NO_FILE),
            }
        }
        Some(sub) if takes_statefulset_name(sub) && state.positionals == 0 => Completion::Lookup {
            lookup: Lookup::StatefulSets,
            prefix: String::new(),
            partial: current.to_string(),
        },
        _ => Completion::Candidates(Vec::new(), DIRECTIVE_NO_FILE),
    };
    (state, completion)
}

/// Cobra's output: candidates, then the directive line.
pub fn render(candidates: &[Candidate], directive: u32) -> String {
    let mut out = String::new();
    for candidate in candidates {
        out.push_str(&candidate.value);
        if !candidate.description.is_empty() {
            out.push('\t');
            out.push_str(candidate.description.lines().next().unwrap_or_default());
        }
        out.push('\n');
    }
    out.push_str(&format!(":{directive}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    fn values(completion: &Completion) -> Vec<String> {
        match completion {
            Completion::Candidates(candidates, _) => {
                candidates.iter().map(|c| c.value.clone()).collect()
            }
            other => panic!("expected candidates, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_word_offers_every_subcommand_but_hidden_ones() {
        let (_, completion) = complete(&words(&[""]));
        let offered = values(&completion);
        for name in [
            "watch",
            "canary",
            "volumes",
            "verify",
            "status",
            "history",
            "undo",
            "completion",
            "sandbox",
        ] {
            assert!(offered.contains(&name.to_string()), "{name} missing");
        }
        assert!(!offered.iter().any(|v| v.starts_with("__")));
    }

    #[test]
    fn partial_subcommands_are_filtered() {
        let (_, completion) = complete(&words(&["v"]));
        assert_eq!(values(&completion), vec!["volumes", "verify"]);
    }

    #[test]
    fn names_after_a_command_come_from_the_cluster_in_the_typed_namespace() {
        let (typed, completion) = complete(&words(&["-n", "prod", "watch", "we"]));
        assert_eq!(
            completion,
            Completion::Lookup {
                lookup: Lookup::StatefulSets,
                prefix: String::new(),
                partial: "we".into()
            }
        );
        assert_eq!(typed.global.namespace.as_deref(), Some("prod"));
        let (_, after_name) = complete(&words(&["watch", "web", ""]));
        assert_eq!(values(&after_name), Vec::<String>::new());
    }

    #[test]
    fn names_are_looked_up_as_the_identity_typed() {
        let typed_words = [
            "--as",
            "jane",
            "--as-group=devs",
            "--user",
            "u",
            "history",
            "w",
        ];
        let (typed, _) = complete(&words(&typed_words));
        assert_eq!(typed.global.impersonate.as_deref(), Some("jane"));
        assert_eq!(typed.global.impersonate_groups, ["devs"]);
        assert_eq!(typed.global.user.as_deref(), Some("u"));
    }

    #[test]
    fn flags_and_their_values_complete() {
        let (_, completion) = complete(&words(&["canary", "web", "--st"]));
        let offered = values(&completion);
        assert!(offered.contains(&"--steps".to_string()));
        assert!(offered.contains(&"--step-timeout".to_string()));
        assert!(offered.contains(&"--status".to_string()));

        let (_, completion) = complete(&words(&["volumes", "-o", ""]));
        assert!(values(&completion).contains(&"tree".to_string()));

        let (_, completion) = complete(&words(&["watch", "--until="]));
        assert_eq!(
            values(&completion),
            vec!["--until=ready", "--until=rolled", "--until=deleted"]
        );

        let (_, completion) = complete(&words(&["status", "--namespace", "ku"]));
        assert!(matches!(
            completion,
            Completion::Lookup {
                lookup: Lookup::Namespaces,
                ..
            }
        ));
        let (_, completion) = complete(&words(&["completion", "z"]));
        assert_eq!(values(&completion), vec!["zsh"]);
    }

    #[test]
    fn global_flags_complete_after_a_subcommand() {
        let (_, completion) = complete(&words(&["volumes", "--kube"]));
        assert_eq!(values(&completion), vec!["--kubeconfig"]);
    }

    #[test]
    fn rendering_follows_cobras_protocol() {
        let text = render(
            &[Candidate {
                value: "web".into(),
                description: "3/3 ready".into(),
            }],
            DIRECTIVE_NO_FILE,
        );
        assert_eq!(text, "web\t3/3 ready\n:4\n");
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_binary() {
        for shell in ALL_SHELLS {
            assert!(script(shell).contains("kubectl-sts"), "{shell:?}");
        }
    }
}
