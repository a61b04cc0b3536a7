//! README.md as a test: every command in its code blocks runs, in order,
//! against a sandbox, and where the README shows output under a command, the
//! lines shown must appear, in order, in what the command printed.
//!
//! The README marks blocks with HTML comments on the lines just before the
//! fence (several may stack):
//! - `<!-- readme-test: skip: REASON -->`: not run (installs, the whole test
//!   suite, commands for a real cluster); the reason is required.
//! - `<!-- readme-test: background -->`: the block's one command runs until
//!   the test ends (the sandbox). A `--data-dir DIR` in it is redirected to a
//!   temp dir, and DIR is read as that temp dir in every later command. The
//!   test waits for the command's `export NAME=VALUE` line; a later
//!   `export NAME=...` in the README must say the same.
//! - `<!-- readme-test: exit N -->`: the block's commands exit with N (else 0).
//! - `<!-- readme-test: varies: TEXT -->`: shown lines containing TEXT depend
//!   on timing and are not compared.
//!
//! Blocks tagged sh, bash, shell or console hold commands. In `console` blocks
//! a line starting with `$ ` is a command and the lines under it its output;
//! in the others every line is a command. A command is `kubectl ...` (the
//! real kubectl 1.37, so `kubectl sts` goes through kubectl's plugin lookup on
//! PATH), `kubectl-sts ...` (the built binary), `export NAME=VALUE`, or such
//! commands joined by `&&`. Anything else fails the test until it is run here
//! or annotated.

mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A hang guard, far above what any README command takes (the slowest, the
/// canary in three steps, takes about 20 s).
const COMMAND_LIMIT: Duration = Duration::from_secs(180);

/// The kubectl-sts commands the README walks through; each must be run.
const WALKTHROUGH: [&str; 8] = [
    "sandbox", "watch", "volumes", "status", "verify", "canary", "history", "undo",
];

#[test]
fn every_command_in_the_readme_runs_and_prints_what_the_readme_shows() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README.md");
    let blocks = parse_blocks(&readme).unwrap_or_else(|e| panic!("{e}"));
    let mut walk = Walkthrough::new(root);
    for block in &blocks {
        if block.notes.skip.is_some() || !block.holds_commands() {
            continue;
        }
        let steps = block.steps().unwrap_or_else(|e| panic!("{e}"));
        if block.notes.background {
            assert_eq!(
                steps.len(),
                1,
                "README.md:{}: a background block holds exactly one command",
                block.line
            );
            walk.start_background(&steps[0]);
            continue;
        }
        for step in &steps {
            walk.run(step, &block.notes);
        }
    }
    for name in WALKTHROUGH {
        assert!(
            walk.ran.iter().any(|words| words.iter().any(|w| w == name)),
            "README.md runs no `kubectl sts {name}` (ran: {:?})",
            walk.ran
        );
    }
    assert!(
        walk.ran
            .iter()
            .any(|words| words.len() > 1 && words[0] == "kubectl" && words[1] == "sts"),
        "no README command went through kubectl's plugin lookup"
    );
}

/// What the annotations before a block say.
#[derive(Debug, Default)]
struct Notes {
    skip: Option<String>,
    background: bool,
    exit: Option<i32>,
    varies: Vec<String>,
}

impl Notes {
    fn add(&mut self, text: &str) -> Result<(), String> {
        if let Some(reason) = text.strip_prefix("skip:") {
            if reason.trim().is_empty() {
                return Err("`skip:` needs a reason".into());
            }
            self.skip = Some(reason.trim().to_string());
        } else if text == "background" {
            self.background = true;
        } else if let Some(code) = text.strip_prefix("exit ") {
            let code = code
                .trim()
                .parse()
                .map_err(|_| format!("`exit {code}`: not an exit code"))?;
            self.exit = Some(code);
        } else if let Some(varies) = text.strip_prefix("varies:") {
            if varies.trim().is_empty() {
                return Err("`varies:` needs the text of the lines that vary".into());
            }
            self.varies.push(varies.trim().to_string());
        } else {
            return Err(format!(
                "unknown annotation {text:?} (known: skip: REASON, background, exit N, varies: TEXT)"
            ));
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.skip.is_none() && !self.background && self.exit.is_none() && self.varies.is_empty()
    }
}

/// A fenced code block: the line of its opening fence, its info string, its
/// lines with their line numbers, and the annotations before it.
#[derive(Debug)]
struct Block {
    line: usize,
    lang: String,
    lines: Vec<(usize, String)>,
    notes: Notes,
}

/// One command line of the README and the output shown under it.
#[derive(Debug)]
struct Step {
    line: usize,
    text: String,
    shown: Vec<(usize, String)>,
}

fn parse_blocks(readme: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut notes = Notes::default();
    let mut notes_at = None;
    let mut lines = readme.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("<!-- readme-test:") {
            let text = rest.strip_suffix("-->").ok_or_else(|| {
                format!("README.md:{n}: a readme-test annotation ends with --> on its line")
            })?;
            notes
                .add(text.trim())
                .map_err(|e| format!("README.md:{n}: {e}"))?;
            notes_at.get_or_insert(n);
        } else if let Some(info) = trimmed.strip_prefix("```") {
            let fence_line = n;
            let mut body = Vec::new();
            loop {
                match lines.next() {
                    Some((_, l)) if l.trim_start().starts_with("```") => break,
                    Some((m, l)) => body.push((m, l.to_string())),
                    None => return Err(format!("README.md:{fence_line}: unterminated code block")),
                }
            }
            let block = Block {
                line: fence_line,
                lang: info.split_whitespace().next().unwrap_or("").to_string(),
                lines: body,
                notes: std::mem::take(&mut notes),
            };
            block.check_tagged()?;
            blocks.push(block);
            notes_at = None;
        } else if !trimmed.is_empty()
            && let Some(at) = notes_at
        {
            return Err(format!(
                "README.md:{at}: a readme-test annotation must come right before a code block"
            ));
        }
    }
    match notes_at {
        Some(at) => Err(format!(
            "README.md:{at}: a readme-test annotation must come right before a code block"
        )),
        None => Ok(blocks),
    }
}

impl Block {
    fn holds_commands(&self) -> bool {
        matches!(self.lang.as_str(), "sh" | "bash" | "shell" | "console")
    }

    /// Commands in an untagged block (or one tagged as text) would go
    /// untested; annotations on a block without commands mean nothing.
    fn check_tagged(&self) -> Result<(), String> {
        if self.holds_commands() {
            return Ok(());
        }
        if !self.notes.is_empty() {
            return Err(format!(
                "README.md:{}: readme-test annotation on a ```{} block, which holds no commands",
                self.line, self.lang
            ));
        }
        let looks_like_a_command = |l: &str| {
            let l = l.trim_start().trim_start_matches("$ ");
            l.starts_with("kubectl ") || l.starts_with("kubectl-sts ")
        };
        match self.lines.iter().find(|(_, l)| looks_like_a_command(l)) {
            Some((n, _)) => Err(format!(
                "README.md:{n}: a command in a ```{} block: tag the block sh or console so it is tested",
                self.lang
            )),
            None => Ok(()),
        }
    }

    fn steps(&self) -> Result<Vec<Step>, String> {
        let mut steps: Vec<Step> = Vec::new();
        if self.lang == "console" {
            for (n, line) in &self.lines {
                if let Some(command) = line.strip_prefix("$ ") {
                    steps.push(Step {
                        line: *n,
                        text: command.to_string(),
                        shown: Vec::new(),
                    });
                } else if let Some(step) = steps.last_mut() {
                    step.shown.push((*n, line.clone()));
                } else if !line.trim().is_empty() {
                    return Err(format!("README.md:{n}: output before any `$ ` command"));
                }
            }
            return Ok(steps);
        }
        let mut continued: Option<Step> = None;
        for (n, line) in &self.lines {
            let mut step = continued.take().unwrap_or(Step {
                line: *n,
                text: String::new(),
                shown: Vec::new(),
            });
            match line.trim_end().strip_suffix('\\') {
                Some(head) => {
                    step.text.push_str(head);
                    step.text.push(' ');
                    continued = Some(step);
                }
                None => {
                    step.text.push_str(line);
                    if !step.text.trim().is_empty() && !step.text.trim_start().starts_with('#') {
                        steps.push(step);
                    }
                }
            }
        }
        if let Some(step) = continued {
            return Err(format!("README.md:{}: command ends in `\\`", step.line));
        }
        Ok(steps)
    }
}

/// Splits a command line into commands joined by `&&`, each a list of words,
/// with sh quoting and `#` comments. Other shell syntax is refused: this test
/// runs commands itself, not through a shell.
fn split_command(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err(format!("unterminated ' in {text:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => word.push(ch),
                            Some(ch) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return Err(format!("unterminated \" in {text:?}")),
                        },
                        Some('$' | '`') => {
                            return Err(format!("expansion inside \"...\" in {text:?}"));
                        }
                        Some(ch) => word.push(ch),
                        None => return Err(format!("unterminated \" in {text:?}")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(ch) => {
                    in_word = true;
                    word.push(ch);
                }
                None => return Err(format!("trailing \\ in {text:?}")),
            },
            '#' if !in_word => break,
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                if in_word {
                    push_word(&mut commands, &mut word);
                    in_word = false;
                }
                commands.push(Vec::new());
            }
            '|' | ';' | '&' | '<' | '>' | '(' | ')' | '`' | '$' | '*' | '?' => {
                return Err(format!(
                    "shell syntax {c:?} in {text:?}: this test runs commands without a shell"
                ));
            }
            '~' if !in_word => {
                return Err(format!(
                    "`~` in {text:?}: this test runs commands without a shell"
                ));
            }
            c if c.is_whitespace() => {
                if in_word {
                    push_word(&mut commands, &mut word);
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        push_word(&mut commands, &mut word);
    }
    if commands.iter().any(Vec::is_empty) {
        return Err(format!("empty command in {text:?}"));
    }
    Ok(commands)
}

fn push_word(commands: &mut [Vec<String>], word: &mut String) {
    if let Some(current) = commands.last_mut() {
        current.push(std::mem::take(word));
    }
}

/// A line as compared: what differs between runs (uids, timestamps, ages and
/// durations, hashes and other long hex or decimal numbers) replaced by a
/// placeholder, and runs of spaces (column widths follow the values) made one.
fn normalize(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let at_start = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if at_start && let Some((len, placeholder)) = varying_token(&chars[i..]) {
            out.push_str(placeholder);
            i += len;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The length and placeholder of a varying token at the start of `s`.
fn varying_token(s: &[char]) -> Option<(usize, &'static str)> {
    let ends_word = |n: usize| n == s.len() || !s[n].is_ascii_alphanumeric();
    if let Some(n) = pattern(s, "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh")
        && ends_word(n)
    {
        return Some((n, "<uid>"));
    }
    if let Some(mut n) = pattern(s, "dddd-dd-ddTdd:dd:dd") {
        if s.get(n) == Some(&'.') {
            n += 1 + s[n + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        }
        if s.get(n) == Some(&'Z') {
            n += 1;
        }
        return Some((n, "<time>"));
    }
    if let Some(n) = pattern(s, "dd:dd:dd") {
        return Some((n, "<time>"));
    }
    if let Some(n) = duration_len(s)
        && ends_word(n)
    {
        return Some((n, "<duration>"));
    }
    let hex = s
        .iter()
        .take_while(|c| c.is_ascii_digit() || ('a'..='f').contains(c))
        .count();
    if hex >= 5 && s[..hex].iter().any(char::is_ascii_digit) && ends_word(hex) {
        return Some((hex, "<hex>"));
    }
    None
}

/// Matches `template` (h = lowercase hex digit, d = decimal digit, anything
/// else itself) at the start of `s`.
fn pattern(s: &[char], template: &str) -> Option<usize> {
    let len = template.chars().count();
    if s.len() < len {
        return None;
    }
    let fits = template.chars().zip(s).all(|(t, c)| match t {
        'h' => c.is_ascii_digit() || ('a'..='f').contains(c),
        'd' => c.is_ascii_digit(),
        t => t == *c,
    });
    fits.then_some(len)
}

/// `1.0s`, `300ms`, `1m30s`, `2h`, `3d`: Kubernetes-style ages and durations.
fn duration_len(s: &[char]) -> Option<usize> {
    let mut n = 0;
    let mut parts = 0;
    loop {
        let digits = s[n..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            break;
        }
        let mut m = n + digits;
        if s.get(m) == Some(&'.') {
            let fraction = s[m + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if fraction == 0 {
                break;
            }
            m += 1 + fraction;
        }
        let unit = match (s.get(m), s.get(m + 1)) {
            (Some('m'), Some('s')) => 2,
            (Some('s' | 'm' | 'h' | 'd'), _) => 1,
            _ => break,
        };
        n = m + unit;
        parts += 1;
    }
    (parts > 0).then_some(n)
}

/// Every shown line not marked as varying must appear in `actual`, in the
/// README's order (the README may abridge, so other lines may come between).
fn compare(shown: &[(usize, String)], varies: &[String], actual: &str) -> Result<usize, String> {
    let actual: Vec<String> = actual.lines().map(normalize).collect();
    let mut from = 0;
    let mut compared = 0;
    for (n, line) in shown {
        if line.trim().is_empty() || varies.iter().any(|v| line.contains(v.as_str())) {
            continue;
        }
        let want = normalize(line);
        match actual[from..].iter().position(|a| *a == want) {
            Some(i) => from += i + 1,
            None => {
                return Err(format!(
                    "README.md:{n}: this line is not in the output (after the lines matched before it):\n    {want}"
                ));
            }
        }
        compared += 1;
    }
    Ok(compared)
}

/// The state of the walkthrough: environment set by `export`, the README's
/// data dir mapped to a temp dir, background processes, what ran.
struct Walkthrough {
    root: PathBuf,
    temp: tempfile::TempDir,
    env: BTreeMap<String, String>,
    /// What background commands printed as `export NAME=VALUE`.
    announced: BTreeMap<String, String>,
    /// README path -> temp path.
    paths: Vec<(String, String)>,
    background: Vec<Background>,
    ran: Vec<Vec<String>>,
    outputs: usize,
}

/// A process that runs until the test ends (killed on drop, also when the
/// test fails).
struct Background {
    child: Child,
    command: String,
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Walkthrough {
    fn new(root: PathBuf) -> Self {
        let temp = tempfile::tempdir().expect("create a temp dir");
        std::fs::create_dir_all(temp.path().join("home")).expect("create a home dir");
        Walkthrough {
            root,
            temp,
            env: BTreeMap::new(),
            announced: BTreeMap::new(),
            paths: Vec::new(),
            background: Vec::new(),
            ran: Vec::new(),
            outputs: 0,
        }
    }

    fn map(&self, word: &str) -> String {
        self.paths
            .iter()
            .fold(word.to_string(), |w, (from, to)| w.replace(from, to))
    }

    fn start_background(&mut self, step: &Step) {
        let line = step.line;
        let commands =
            split_command(&step.text).unwrap_or_else(|e| panic!("README.md:{line}: {e}"));
        let [words] = commands.as_slice() else {
            panic!("README.md:{line}: a background block runs one command, not `&&`");
        };
        // The README's data dir becomes a temp dir, for this and later commands.
        if let Some(i) = words.iter().position(|w| w == "--data-dir")
            && let Some(dir) = words.get(i + 1)
        {
            let temp = self.temp.path().join("data-dir");
            self.paths.push((dir.clone(), temp.display().to_string()));
        }
        let mut command = self.command(words, line);
        let log = self.temp.path().join(format!("background-{line}.log"));
        command
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("create a log file"));
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("README.md:{line}: starting {:?}: {e}", step.text));
        let stdout = child.stdout.take().expect("piped stdout");
        self.background.push(Background {
            child,
            command: step.text.clone(),
        });
        self.ran.push(words.clone());

        // Read its output on a thread (and keep draining it so it never blocks).
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut printed = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(left) {
                Ok(text) => {
                    if let Some((name, value)) =
                        text.strip_prefix("export ").and_then(|a| a.split_once('='))
                    {
                        self.announced.insert(name.to_string(), value.to_string());
                        return;
                    }
                    printed.push(text);
                }
                Err(_) => {
                    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!(
                        "README.md:{line}: {:?} printed no `export NAME=VALUE` line\nstdout:\n{}\nstderr:\n{stderr}",
                        self.background.last().map(|b| b.command.as_str()),
                        printed.join("\n")
                    );
                }
            }
        }
    }

    /// The process for a README command: kubectl or the built plugin, with
    /// the plugin found on PATH, a private HOME (kubectl's cache) and the
    /// README's environment.
    fn command(&self, words: &[String], line: usize) -> Command {
        let program = match words[0].as_str() {
            "kubectl" => support::kubectl_path(),
            "kubectl-sts" => PathBuf::from(env!("CARGO_BIN_EXE_kubectl-sts")),
            other => panic!(
                "README.md:{line}: `{other}` is not a command this test can run; \
                 run it here or mark the block <!-- readme-test: skip: REASON -->"
            ),
        };
        let mut command = Command::new(program);
        command
            .args(words[1..].iter().map(|w| self.map(w)))
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .env_remove("KUBECONFIG")
            .env("HOME", self.temp.path().join("home"))
            .env("NO_COLOR", "1")
            .env("PATH", plugin_path())
            .envs(&self.env);
        command
    }

    fn run(&mut self, step: &Step, notes: &Notes) {
        let line = step.line;
        let commands =
            split_command(&step.text).unwrap_or_else(|e| panic!("README.md:{line}: {e}"));
        self.outputs += 1;
        let out_path = self
            .temp
            .path()
            .join(format!("output-{}.txt", self.outputs));
        let out = File::create(&out_path).expect("create an output file");
        let mut code = 0;
        for words in &commands {
            self.ran.push(words.clone());
            if words[0] == "export" {
                self.export(words, line);
                continue;
            }
            // One file for both streams keeps their lines in the order printed.
            let mut command = self.command(words, line);
            command
                .stdout(out.try_clone().expect("clone the output file"))
                .stderr(out.try_clone().expect("clone the output file"));
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("README.md:{line}: starting {words:?}: {e}"));
            let status = wait_within(child, COMMAND_LIMIT)
                .unwrap_or_else(|e| panic!("README.md:{line}: {:?} {e}", step.text));
            code = status.code().unwrap_or(-1);
            if code != 0 {
                break;
            }
        }
        drop(out);
        let output = std::fs::read_to_string(&out_path).expect("read the output");
        let expected = notes.exit.unwrap_or(0);
        assert_eq!(
            code, expected,
            "README.md:{line}: `{}` exited {code}, the README expects {expected}; output:\n{output}",
            step.text
        );
        let mut compared = 0;
        if step.shown.iter().any(|(_, l)| !l.trim().is_empty()) {
            compared = match compare(&step.shown, &notes.varies, &output) {
                Ok(0) => panic!(
                    "README.md:{line}: every line shown under `{}` is marked as varying; nothing is compared",
                    step.text
                ),
                Ok(compared) => compared,
                Err(e) => panic!("{e}\nunder `{}`, which printed:\n{output}", step.text),
            };
        }
        eprintln!(
            "README.md:{line}: `{}` exited {code}; {compared} shown line(s) matched",
            step.text
        );
    }

    fn export(&mut self, words: &[String], line: usize) {
        let assignment = match words {
            [_, assignment] => assignment,
            _ => panic!("README.md:{line}: `export` takes one NAME=VALUE here"),
        };
        let Some((name, value)) = assignment.split_once('=') else {
            panic!("README.md:{line}: `export {assignment}`: expected NAME=VALUE");
        };
        let value = self.map(value);
        if let Some(said) = self.announced.get(name) {
            assert_eq!(
                &value, said,
                "README.md:{line}: the README exports {name}={value}, the background command printed {name}={said}"
            );
        }
        self.env.insert(name.to_string(), value);
    }
}

/// The built plugin first on PATH, then the real kubectl, then the rest.
fn plugin_path() -> String {
    let dir = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let plugin = dir(Path::new(env!("CARGO_BIN_EXE_kubectl-sts")));
    let kubectl = dir(&support::kubectl_path());
    let rest = std::env::var("PATH").unwrap_or_default();
    format!("{}:{}:{rest}", plugin.display(), kubectl.display())
}

fn wait_within(mut child: Child, limit: Duration) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("was still running after {limit:?}; killed it"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for it: {e}")),
        }
    }
}

// The harness itself: a tolerant comparison must still catch a wrong output.

#[test]
fn normalizing_keeps_names_and_drops_what_changes_between_runs() {
    assert_eq!(
        normalize("web-0   Running   1/1     0          3s    76494      sandbox-node   Bound"),
        "web-0 Running 1/1 0 <duration> <hex> sandbox-node Bound"
    );
    assert_eq!(
        normalize("2026-11-23T11:50:11.141Z web-0 Ready after 0.9s"),
        "<time> web-0 Ready after <duration>"
    );
    assert_eq!(
        normalize(
            "www-web-0   Bound    managed-nfs-storage   pvc-92490fa6-25b0-4833-a979-ba8e000bb3bb"
        ),
        "www-web-0 Bound managed-nfs-storage pvc-<uid>"
    );
    assert_eq!(
        normalize("11:50:24 step 1: 1 pod(s) on web-57576c7ddf Ready; soaking for 1m30s"),
        "<time> step 1: 1 pod(s) on web-<hex> Ready; soaking for <duration>"
    );
    // Not durations or hashes: image tags, sizes, percentages, short numbers.
    assert_eq!(
        normalize("nginx=nginx:1.27 1Gi 50% partition 3 web-2"),
        "nginx=nginx:1.27 1Gi 50% partition 3 web-2"
    );
}

#[test]
fn the_comparison_catches_a_wrong_row_a_wrong_header_and_a_wrong_order() {
    let shown = |lines: &[&str]| -> Vec<(usize, String)> {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, l.to_string()))
            .collect()
    };
    let actual = "REVISION   STATE     AGE   PODS\n\
                  1                    34s   <none>\n\
                  4          current   23s   web-0,web-1,web-2\n";
    let table = shown(&[
        "REVISION   STATE     AGE   PODS",
        "4          current   9m    web-0,web-1,web-2",
    ]);
    assert_eq!(compare(&table, &[], actual), Ok(2));
    let wrong_row = shown(&["4          current   23s   web-0,web-1"]);
    assert!(compare(&wrong_row, &[], actual).is_err());
    let wrong_header = shown(&["REVISION   AGE   PODS"]);
    assert!(compare(&wrong_header, &[], actual).is_err());
    let wrong_order = shown(&["4 current 23s web-0,web-1,web-2", "1 34s <none>"]);
    assert!(compare(&wrong_order, &[], actual).is_err());
    let varying = shown(&["1 34s <none>", "waiting: web-9 is late"]);
    assert_eq!(compare(&varying, &["waiting:".to_string()], actual), Ok(1));
}

#[test]
fn commands_split_like_sh_and_other_shell_syntax_is_refused() {
    assert_eq!(
        split_command("kubectl apply -f web.yaml && kubectl sts watch web   # comment"),
        Ok(vec![
            vec![
                "kubectl".into(),
                "apply".into(),
                "-f".into(),
                "web.yaml".into()
            ],
            vec!["kubectl".into(), "sts".into(), "watch".into(), "web".into()],
        ])
    );
    assert_eq!(
        split_command(r#"kubectl patch pv x -p '{"spec":{}}' --type="merge""#),
        Ok(vec![vec![
            "kubectl".into(),
            "patch".into(),
            "pv".into(),
            "x".into(),
            "-p".into(),
            r#"{"spec":{}}"#.into(),
            "--type=merge".into(),
        ]])
    );
    for refused in [
        "kubectl get pods | head",
        "kubectl get pods > out",
        "echo $HOME",
        "kubectl sts watch web &",
        "ls ~/x",
        "ls *.yaml",
    ] {
        assert!(split_command(refused).is_err(), "{refused:?} was accepted");
    }
}

#[test]
fn annotations_must_be_known_have_reasons_and_precede_a_block() {
    let parse = |text: &str| parse_blocks(text).map(|b| b.len());
    assert_eq!(
        parse("<!-- readme-test: skip: needs a cluster -->\n```sh\nkubectl get pods\n```\n"),
        Ok(1)
    );
    assert!(parse("<!-- readme-test: skip: -->\n```sh\nx\n```\n").is_err());
    assert!(parse("<!-- readme-test: skipp: typo -->\n```sh\nx\n```\n").is_err());
    assert!(parse("<!-- readme-test: exit 1 -->\nprose\n```sh\nx\n```\n").is_err());
    assert!(parse("<!-- readme-test: exit 1 -->\n```yaml\na: b\n```\n").is_err());
    // A command hidden in an untagged block would go untested.
    assert!(parse("```\nkubectl sts status web\n```\n").is_err());
}
