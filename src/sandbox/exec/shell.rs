//! A small POSIX-`sh`-like interpreter: what `kubectl exec POD -- sh -c '...'`
//! runs in a simulated container.
//!
//! It knows nothing of Kubernetes: the container is a [`ContainerFs`] (paths as
//! the container sees them), a hostname and an environment. Commands are
//! built-ins (`builtins.rs`) named like the busybox/coreutils programs they
//! imitate, with their error messages and exit statuses.

mod arith;
mod builtins;
pub mod syntax;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use syntax::{
    AndOr, Command, Compound, Connector, Param, ParamOp, Part, Pipeline, Redirect, RedirectOp,
    Script, SimpleCommand, Word,
};

/// Why a filesystem operation failed, worded as the C library words errno.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    #[error("No such file or directory")]
    NotFound,
    #[error("Not a directory")]
    NotADirectory,
    #[error("Is a directory")]
    IsADirectory,
    #[error("File exists")]
    AlreadyExists,
    #[error("Directory not empty")]
    NotEmpty,
    #[error("Read-only file system")]
    ReadOnly,
    #[error("Device or resource busy")]
    Busy,
    #[error("Permission denied")]
    PermissionDenied,
    #[error("Invalid argument")]
    Invalid,
    #[error("{0}")]
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    /// A character device (only `/dev/null` here).
    Device,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub kind: FileKind,
    pub len: u64,
    /// Modification time, seconds since the epoch.
    pub modified: i64,
}

/// The container's filesystem as the container sees it. Paths are absolute
/// and already normalised (no `.`/`..` components, no trailing slash).
pub trait ContainerFs: Send + Sync {
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError>;
    /// Create or truncate (`append == false`) or append to a file.
    fn write(&self, path: &str, data: &[u8], append: bool) -> Result<(), FsError>;
    fn info(&self, path: &str) -> Result<FileInfo, FsError>;
    /// Entry names, sorted.
    fn list(&self, path: &str) -> Result<Vec<String>, FsError>;
    fn create_dir(&self, path: &str) -> Result<(), FsError>;
    fn remove_file(&self, path: &str) -> Result<(), FsError>;
    /// Remove an empty directory.
    fn remove_dir(&self, path: &str) -> Result<(), FsError>;
    fn rename(&self, from: &str, to: &str) -> Result<(), FsError>;
    /// Update the modification time of an existing file.
    fn touch(&self, path: &str) -> Result<(), FsError>;
}

/// Resolve `path` against `cwd` the way the kernel does inside a container:
/// `..` at the root stays at the root, so a path can never leave `/`.
pub fn normalize(cwd: &str, path: &str) -> String {
    let mut components: Vec<&str> = Vec::new();
    let joined;
    let full = if path.starts_with('/') {
        path
    } else {
        joined = format!("{cwd}/{path}");
        &joined
    };
    for component in full.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            other => components.push(other),
        }
    }
    format!("/{}", components.join("/"))
}

/// Where command output goes: the exec stream, a buffer (pipes and `$(...)`).
pub trait OutputSink: Send + Sync {
    fn write(&self, data: &[u8]);
}

/// Output collected in memory.
#[derive(Default)]
pub struct BufferSink(Mutex<Vec<u8>>);

impl BufferSink {
    pub fn take(&self) -> Vec<u8> {
        match self.0.lock() {
            Ok(mut buffer) => std::mem::take(&mut *buffer),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl OutputSink for BufferSink {
    fn write(&self, data: &[u8]) {
        match self.0.lock() {
            Ok(mut buffer) => buffer.extend_from_slice(data),
            Err(poisoned) => poisoned.into_inner().extend_from_slice(data),
        }
    }
}

/// The exec's standard input, read at most once to its end.
#[derive(Clone)]
pub struct StdinStream(Arc<tokio::sync::Mutex<Option<mpsc::UnboundedReceiver<Bytes>>>>);

impl StdinStream {
    pub fn new(receiver: mpsc::UnboundedReceiver<Bytes>) -> Self {
        StdinStream(Arc::new(tokio::sync::Mutex::new(Some(receiver))))
    }

    /// Everything until the client half-closes stdin (or disconnects).
    async fn read_to_end(&self) -> Vec<u8> {
        let mut guard = self.0.lock().await;
        let mut data = Vec::new();
        if let Some(receiver) = guard.as_mut() {
            while let Some(chunk) = receiver.recv().await {
                data.extend_from_slice(&chunk);
            }
        }
        *guard = None;
        data
    }
}

#[derive(Clone)]
pub enum Input {
    Empty,
    Bytes(Arc<Vec<u8>>),
    Stream(StdinStream),
}

impl Input {
    async fn read_all(&self) -> Vec<u8> {
        match self {
            Input::Empty => Vec::new(),
            Input::Bytes(data) => data.as_ref().clone(),
            Input::Stream(stream) => stream.read_to_end().await,
        }
    }
}

#[derive(Clone)]
enum Output {
    Sink(Arc<dyn OutputSink>),
    /// A file opened by a redirection; every write appends.
    File(String),
    Null,
}

/// The standard streams of one command.
#[derive(Clone)]
pub struct Io {
    stdin: Input,
    stdout: Output,
    stderr: Output,
}

impl Io {
    pub fn new(stdin: Input, stdout: Arc<dyn OutputSink>, stderr: Arc<dyn OutputSink>) -> Self {
        Io {
            stdin,
            stdout: Output::Sink(stdout),
            stderr: Output::Sink(stderr),
        }
    }
}

/// What the container is: its files, its name and its environment.
#[derive(Clone)]
pub struct Container {
    pub fs: Arc<dyn ContainerFs>,
    pub hostname: String,
    /// Environment variables in the order the runtime sets them.
    pub env: Vec<(String, String)>,
    /// Where processes start (the container's workingDir, else `/`).
    pub working_dir: String,
}

/// How running the exec command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    /// The process exited with this status.
    Exited(i32),
    /// There is no such executable: the runtime failed to start the process.
    /// Holds the runtime's reason (`exec: "foo": executable file not found in $PATH`).
    NotStarted(String),
}

/// Sleeps never last longer than this, so an abandoned exec cannot pin a task forever.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where a runtime finds executables; the built-ins "live" in all of them.
const BIN_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The PATH a container gets when its image sets none (containerd's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The built-in program an `argv[0]` names, if any: a bare name, or a path
/// into one of the standard bin directories.
fn program_name(argv0: &str) -> Option<&'static str> {
    let name = match argv0.rsplit_once('/') {
        Some((dir, name)) => {
            let dir = if dir.is_empty() { "/" } else { dir };
            if !BIN_DIRS.contains(&dir) {
                return None;
            }
            name
        }
        None => argv0,
    };
    builtins::PROGRAMS.iter().copied().find(|p| *p == name)
}

/// Run an exec command (`argv` as sent in the exec request) in the container.
/// Built-in programs run directly; anything else fails to start, as with a
/// container runtime whose image lacks the binary.
pub async fn run_exec(container: &Container, argv: &[String], io: Io) -> ExecOutcome {
    let Some(argv0) = argv.first() else {
        return ExecOutcome::NotStarted("exec: \"\": executable file not found in $PATH".into());
    };
    if program_name(argv0).is_none() {
        let reason = if argv0.contains('/') {
            format!("exec: \"{argv0}\": stat {argv0}: no such file or directory")
        } else {
            format!("exec: \"{argv0}\": executable file not found in $PATH")
        };
        return ExecOutcome::NotStarted(reason);
    }
    let mut shell = Shell::new(container);
    let status = match shell.run_program(argv, &io).await {
        Ok(status) => status,
        Err(Exit(status)) => status,
    };
    ExecOutcome::Exited(status)
}

/// `exit N` unwinding through the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub i32);

type Flow<'a> = Pin<Box<dyn Future<Output = Result<i32, Exit>> + Send + 'a>>;

#[derive(Debug, Clone)]
struct Var {
    value: String,
    exported: bool,
}

/// One shell process: variables, working directory, positional parameters.
#[derive(Clone)]
pub struct Shell {
    fs: Arc<dyn ContainerFs>,
    hostname: String,
    vars: BTreeMap<String, Var>,
    /// Exported names in the order they were first set (what `env` prints).
    export_order: Vec<String>,
    cwd: String,
    arg0: String,
    positional: Vec<String>,
    last_status: i32,
    /// Status of the last `$(...)` of the command being expanded: the status
    /// of a command made only of assignments.
    substitution_status: Option<i32>,
}

impl Shell {
    pub fn new(container: &Container) -> Self {
        let mut shell = Shell {
            fs: container.fs.clone(),
            hostname: container.hostname.clone(),
            vars: BTreeMap::new(),
            export_order: Vec::new(),
            cwd: "/".into(),
            arg0: "sh".into(),
            positional: Vec::new(),
            last_status: 0,
            substitution_status: None,
        };
        for (name, value) in &container.env {
            shell.set_var(name, value.clone(), true);
        }
        let working_dir = normalize("/", &container.working_dir);
        if container
            .fs
            .info(&working_dir)
            .is_ok_and(|info| info.kind == FileKind::Directory)
        {
            shell.cwd = working_dir;
        }
        shell
    }

    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|v| v.value.clone())
    }

    fn set_var(&mut self, name: &str, value: String, export: bool) {
        let exported = export || self.vars.get(name).is_some_and(|v| v.exported);
        if exported && !self.export_order.iter().any(|n| n == name) {
            self.export_order.push(name.to_string());
        }
        self.vars.insert(name.to_string(), Var { value, exported });
    }

    fn unset_var(&mut self, name: &str) {
        self.vars.remove(name);
        self.export_order.retain(|n| n != name);
    }

    /// The environment a child process gets.
    fn environment(&self) -> Vec<(String, String)> {
        self.export_order
            .iter()
            .filter_map(|name| {
                self.vars
                    .get(name)
                    .filter(|v| v.exported)
                    .map(|v| (name.clone(), v.value.clone()))
            })
            .collect()
    }

    fn child_container(&self) -> Container {
        Container {
            fs: self.fs.clone(),
            hostname: self.hostname.clone(),
            env: self.environment(),
            working_dir: self.cwd.clone(),
        }
    }

    fn path(&self, path: &str) -> String {
        normalize(&self.cwd, path)
    }

    /// Write to an output, reporting failures as a shell would.
    fn emit(&self, output: &Output, data: &[u8]) {
        match output {
            Output::Sink(sink) => sink.write(data),
            Output::File(path) => {
                // The file was created when the redirection opened it; a
                // failure now (it was removed meanwhile) loses the output,
                // as writing to an unlinked file does.
                let _ = self.fs.write(path, data, true);
            }
            Output::Null => {}
        }
    }

    fn out(&self, io: &Io, text: impl AsRef<[u8]>) {
        self.emit(&io.stdout, text.as_ref());
    }

    fn err(&self, io: &Io, text: impl AsRef<[u8]>) {
        self.emit(&io.stderr, text.as_ref());
    }

    /// Run a script in this shell (`sh -c`, `$(...)` bodies).
    pub fn run_script<'a>(&'a mut self, script: &'a Script, io: &'a Io) -> Flow<'a> {
        Box::pin(async move {
            let mut status = 0;
            for and_or in &script.0 {
                status = self.run_and_or(and_or, io).await?;
            }
            Ok(status)
        })
    }

    async fn run_and_or(&mut self, and_or: &AndOr, io: &Io) -> Result<i32, Exit> {
        let mut status = self.run_pipeline(&and_or.first, io).await?;
        for (connector, pipeline) in &and_or.rest {
            let run = match connector {
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if run {
                status = self.run_pipeline(pipeline, io).await?;
            }
        }
        self.last_status = status;
        Ok(status)
    }

    async fn run_pipeline(&mut self, pipeline: &Pipeline, io: &Io) -> Result<i32, Exit> {
        let status = if pipeline.commands.len() == 1 {
            self.run_command(&pipeline.commands[0], io).await?
        } else {
            // Each stage runs in a subshell after the previous one, its
            // output buffered into the next one's input.
            let mut input = io.stdin.clone();
            let mut status = 0;
            let last = pipeline.commands.len() - 1;
            for (i, command) in pipeline.commands.iter().enumerate() {
                let mut stage_io = io.clone();
                stage_io.stdin = input.clone();
                let buffer = Arc::new(BufferSink::default());
                if i < last {
                    stage_io.stdout = Output::Sink(buffer.clone());
                }
                let mut subshell = self.clone();
                status = match subshell.run_command(command, &stage_io).await {
                    Ok(status) | Err(Exit(status)) => status,
                };
                input = Input::Bytes(Arc::new(buffer.take()));
            }
            status
        };
        let status = if pipeline.negated {
            i32::from(status == 0)
        } else {
            status
        };
        self.last_status = status;
        Ok(status)
    }

    fn run_command<'a>(&'a mut self, command: &'a Command, io: &'a Io) -> Flow<'a> {
        Box::pin(async move {
            match command {
                Command::Simple(simple) => self.run_simple(simple, io).await,
                Command::Compound { body, redirects } => {
                    let Some(io) = self.apply_redirects(redirects, io).await? else {
                        return Ok(1);
                    };
                    self.run_compound(body, &io).await
                }
            }
        })
    }

    async fn run_compound(&mut self, body: &Compound, io: &Io) -> Result<i32, Exit> {
        match body {
            Compound::Group(script) => self.run_script(script, io).await,
            Compound::Subshell(script) => {
                let mut subshell = self.clone();
                match subshell.run_script(script, io).await {
                    Ok(status) | Err(Exit(status)) => Ok(status),
                }
            }
            Compound::If {
                branches,
                otherwise,
            } => {
                for (condition, body) in branches {
                    if self.run_script(condition, io).await? == 0 {
                        return self.run_script(body, io).await;
                    }
                }
                match otherwise {
                    Some(body) => self.run_script(body, io).await,
                    None => Ok(0),
                }
            }
            Compound::For { var, items, body } => {
                let values = match items {
                    Some(words) => {
                        let mut values = Vec::new();
                        for word in words {
                            values.extend(self.expand_word(word, io).await?);
                        }
                        values
                    }
                    None => self.positional.clone(),
                };
                let mut status = 0;
                for value in values {
                    self.set_var(var, value, false);
                    status = self.run_script(body, io).await?;
                }
                Ok(status)
            }
            Compound::While {
                condition,
                body,
                until,
            } => {
                let mut status = 0;
                loop {
                    let holds = self.run_script(condition, io).await? == 0;
                    if holds == *until {
                        break;
                    }
                    status = self.run_script(body, io).await?;
                    // Give the runtime a chance to cancel a runaway loop.
                    tokio::task::yield_now().await;
                }
                Ok(status)
            }
        }
    }

    async fn run_simple(&mut self, command: &SimpleCommand, io: &Io) -> Result<i32, Exit> {
        self.substitution_status = None;
        let mut argv = Vec::new();
        for word in &command.words {
            argv.extend(self.expand_word(word, io).await?);
        }
        let mut assignments = Vec::new();
        for (name, value) in &command.assignments {
            assignments.push((name.clone(), self.expand_single(value, io).await?));
        }
        let Some(io) = self.apply_redirects(&command.redirects, io).await? else {
            return Ok(1);
        };
        if argv.is_empty() {
            for (name, value) in assignments {
                self.set_var(&name, value, false);
            }
            return Ok(self.substitution_status.unwrap_or(0));
        }
        if assignments.is_empty() {
            return self.run_program(&argv, &io).await;
        }
        // `NAME=value cmd`: the variables are in the command's environment only.
        let mut scoped = self.clone();
        for (name, value) in assignments {
            scoped.set_var(&name, value, true);
        }
        let status = scoped.run_program(&argv, &io).await;
        self.last_status = match status {
            Ok(status) | Err(Exit(status)) => status,
        };
        status
    }

    /// Open the redirections of a command; `None` (after reporting it) when one fails.
    async fn apply_redirects(
        &mut self,
        redirects: &[Redirect],
        io: &Io,
    ) -> Result<Option<Io>, Exit> {
        let mut io = io.clone();
        for redirect in redirects {
            let target = self.expand_single(&redirect.target, &io).await?;
            match redirect.op {
                RedirectOp::Write | RedirectOp::Append => {
                    let standard = match target.as_str() {
                        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Some(io.stdout.clone()),
                        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Some(io.stderr.clone()),
                        _ => None,
                    };
                    if let Some(output) = standard {
                        set_output(&mut io, redirect.fd, output);
                        continue;
                    }
                    let output = match self.open_output(&target, redirect.op == RedirectOp::Append)
                    {
                        Ok(output) => output,
                        Err(error) => {
                            let reason = match error {
                                FsError::NotFound => "nonexistent directory".to_string(),
                                other => other.to_string(),
                            };
                            self.err(&io, format!("sh: can't create {target}: {reason}\n"));
                            return Ok(None);
                        }
                    };
                    set_output(&mut io, redirect.fd, output);
                }
                RedirectOp::Read => {
                    let path = self.path(&target);
                    match self.fs.read(&path) {
                        Ok(data) if redirect.fd == 0 => io.stdin = Input::Bytes(Arc::new(data)),
                        Ok(_) => {}
                        Err(_) => {
                            self.err(&io, format!("sh: can't open {target}: no such file\n"));
                            return Ok(None);
                        }
                    }
                }
                RedirectOp::DupOut | RedirectOp::DupIn => {
                    let source = match target.as_str() {
                        "1" => Some(io.stdout.clone()),
                        "2" => Some(io.stderr.clone()),
                        "-" => Some(Output::Null),
                        _ => None,
                    };
                    match source {
                        Some(output) => set_output(&mut io, redirect.fd, output),
                        None if target == "0" => {}
                        None => {
                            self.err(&io, format!("sh: {target}: bad file descriptor\n"));
                            return Ok(None);
                        }
                    }
                }
            }
        }
        Ok(Some(io))
    }

    fn open_output(&self, target: &str, append: bool) -> Result<Output, FsError> {
        if target == "/dev/null" {
            return Ok(Output::Null);
        }
        let path = self.path(target);
        self.fs.write(&path, b"", append)?;
        Ok(Output::File(path))
    }

    // -----------------------------------------------------------------------
    // Expansion

    fn param_value(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.last_status.to_string()),
            "#" => Some(self.positional.len().to_string()),
            "$" => Some("1".into()),
            "!" => Some(String::new()),
            "-" => Some(String::new()),
            "0" => Some(self.arg0.clone()),
            "@" | "*" => Some(self.positional.join(" ")),
            _ if name.chars().all(|c| c.is_ascii_digit()) => name
                .parse::<usize>()
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| self.positional.get(i).cloned()),
            _ => self.var(name),
        }
    }

    fn expand_param<'a>(&'a mut self, param: &'a Param, io: &'a Io) -> ExpandFuture<'a> {
        Box::pin(async move {
            let value = self.param_value(&param.name);
            let is_unset_or_empty = |colon: bool| match &value {
                None => true,
                Some(v) => colon && v.is_empty(),
            };
            Ok(match &param.op {
                ParamOp::Plain => value.unwrap_or_default(),
                ParamOp::Length => value.unwrap_or_default().chars().count().to_string(),
                ParamOp::Default { word, colon } => {
                    if is_unset_or_empty(*colon) {
                        self.expand_single(word, io).await?
                    } else {
                        value.unwrap_or_default()
                    }
                }
                ParamOp::Assign { word, colon } => {
                    if is_unset_or_empty(*colon) {
                        let new_value = self.expand_single(word, io).await?;
                        self.set_var(&param.name, new_value.clone(), false);
                        new_value
                    } else {
                        value.unwrap_or_default()
                    }
                }
                ParamOp::Alternative { word, colon } => {
                    if is_unset_or_empty(*colon) {
                        String::new()
                    } else {
                        self.expand_single(word, io).await?
                    }
                }
            })
        })
    }

    /// `$((expr))`; an invalid expression ends the shell, as in dash.
    fn arithmetic(&self, expr: &str, io: &Io) -> Result<String, Exit> {
        match arith::evaluate(expr, &|name| self.param_value(name)) {
            Ok(value) => Ok(value.to_string()),
            Err(message) => {
                self.err(
                    io,
                    format!("sh: arithmetic expression: {message}: \"{expr}\"\n"),
                );
                Err(Exit(2))
            }
        }
    }

    /// Run `$(...)` in a subshell and return its output without trailing newlines.
    async fn command_output(&mut self, script: &Script, io: &Io) -> String {
        let buffer = Arc::new(BufferSink::default());
        let sub_io = Io {
            stdin: io.stdin.clone(),
            stdout: Output::Sink(buffer.clone()),
            stderr: io.stderr.clone(),
        };
        let mut subshell = self.clone();
        let status = match subshell.run_script(script, &sub_io).await {
            Ok(status) | Err(Exit(status)) => status,
        };
        self.substitution_status = Some(status);
        let mut text = String::from_utf8_lossy(&buffer.take()).into_owned();
        while text.ends_with('\n') {
            text.pop();
        }
        text
    }

    /// Expand a word into fields: parameter and command substitution, field
    /// splitting of unquoted results, then pathname expansion.
    fn expand_word<'a>(
        &'a mut self,
        word: &'a Word,
        io: &'a Io,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<String>, Exit>> + Send + 'a>> {
        Box::pin(async move {
            let mut fields: Vec<Field> = Vec::new();
            let mut current = Field::default();
            let mut started = false;
            for part in &word.0 {
                match part {
                    Part::Bare(text) => {
                        current.push(text, true);
                        started = true;
                    }
                    Part::Quoted(text) => {
                        current.push(text, false);
                        started = true;
                    }
                    Part::Param { param, quoted } if param.name == "@" && *quoted => {
                        // "$@": one field per positional parameter.
                        let params = self.positional.clone();
                        for (i, value) in params.iter().enumerate() {
                            if i > 0 {
                                fields.push(std::mem::take(&mut current));
                            }
                            current.push(value, false);
                            started = true;
                        }
                    }
                    Part::Param { param, quoted } => {
                        let value = self.expand_param(param, io).await?;
                        split_into(&mut fields, &mut current, &mut started, &value, *quoted);
                    }
                    Part::Command { script, quoted } => {
                        let value = self.command_output(script, io).await;
                        split_into(&mut fields, &mut current, &mut started, &value, *quoted);
                    }
                    Part::Arithmetic { expr, quoted } => {
                        let value = self.arithmetic(expr, io)?;
                        split_into(&mut fields, &mut current, &mut started, &value, *quoted);
                    }
                }
            }
            if started {
                fields.push(current);
            }
            let mut words = Vec::new();
            for field in fields {
                if field.has_glob {
                    let matches = self.glob(&field.pattern);
                    if !matches.is_empty() {
                        words.extend(matches);
                        continue;
                    }
                }
                words.push(field.text);
            }
            Ok(words)
        })
    }

    /// Expand a word into one string (assignments, redirection targets).
    fn expand_single<'a>(&'a mut self, word: &'a Word, io: &'a Io) -> ExpandFuture<'a> {
        Box::pin(async move {
            let mut text = String::new();
            for part in &word.0 {
                match part {
                    Part::Bare(t) | Part::Quoted(t) => text.push_str(t),
                    Part::Param { param, .. } => {
                        text.push_str(&self.expand_param(param, io).await?);
                    }
                    Part::Command { script, .. } => {
                        text.push_str(&self.command_output(script, io).await);
                    }
                    Part::Arithmetic { expr, .. } => text.push_str(&self.arithmetic(expr, io)?),
                }
            }
            Ok(text)
        })
    }

    /// Pathname expansion of a pattern (`*`, `?`, `[...]`), sorted; empty when nothing matches.
    fn glob(&self, pattern: &str) -> Vec<String> {
        let absolute = pattern.starts_with('/');
        let mut candidates: Vec<String> = vec![if absolute { String::new() } else { ".".into() }];
        let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
        for component in components {
            let mut next = Vec::new();
            for base in &candidates {
                let base_display = base.clone();
                if !has_glob_chars(component) {
                    let literal = unescape_pattern(component);
                    let candidate = join_display(&base_display, &literal);
                    if self.fs.info(&self.path(&candidate)).is_ok() {
                        next.push(candidate);
                    }
                    continue;
                }
                let dir = if base.is_empty() { "/" } else { base.as_str() };
                let Ok(entries) = self.fs.list(&self.path(dir)) else {
                    continue;
                };
                for entry in entries {
                    if entry.starts_with('.') && !component.starts_with('.') {
                        continue;
                    }
                    if pattern_matches(component, &entry) {
                        next.push(join_display(&base_display, &entry));
                    }
                }
            }
            candidates = next;
        }
        let mut matches: Vec<String> = candidates
            .into_iter()
            .map(|c| c.strip_prefix("./").map(str::to_string).unwrap_or(c))
            .filter(|c| !c.is_empty() && c != ".")
            .collect();
        matches.sort();
        matches
    }
}

type ExpandFuture<'a> = Pin<Box<dyn Future<Output = Result<String, Exit>> + Send + 'a>>;

fn set_output(io: &mut Io, fd: u32, output: Output) {
    match fd {
        1 => io.stdout = output,
        2 => io.stderr = output,
        // Other descriptors are not tracked: nothing reads them.
        _ => {}
    }
}

fn join_display(base: &str, name: &str) -> String {
    match base {
        "" => format!("/{name}"),
        "." => format!("./{name}"),
        _ if base.ends_with('/') => format!("{base}{name}"),
        _ => format!("{base}/{name}"),
    }
}

/// A field being built during expansion: its text, and a pattern in which
/// quoted glob characters are escaped so that they match literally.
#[derive(Default)]
struct Field {
    text: String,
    pattern: String,
    has_glob: bool,
}

impl Field {
    fn push(&mut self, text: &str, globbable: bool) {
        self.text.push_str(text);
        for c in text.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                if globbable && c != '\\' {
                    self.has_glob = true;
                } else {
                    self.pattern.push('\\');
                }
            }
            self.pattern.push(c);
        }
    }
}

/// Append an expansion result, splitting it into fields unless quoted.
fn split_into(
    fields: &mut Vec<Field>,
    current: &mut Field,
    started: &mut bool,
    value: &str,
    quoted: bool,
) {
    if quoted {
        current.push(value, false);
        *started = true;
        return;
    }
    let ifs = |c: char| c == ' ' || c == '\t' || c == '\n';
    let starts_with_space = value.starts_with(ifs);
    let ends_with_space = value.ends_with(ifs);
    let pieces: Vec<&str> = value.split(ifs).filter(|p| !p.is_empty()).collect();
    if pieces.is_empty() {
        if starts_with_space && *started {
            fields.push(std::mem::take(current));
            *started = false;
        }
        return;
    }
    for (i, piece) in pieces.iter().enumerate() {
        if (i > 0 || starts_with_space) && *started {
            fields.push(std::mem::take(current));
        }
        current.push(piece, true);
        *started = true;
    }
    if ends_with_space {
        fields.push(std::mem::take(current));
        *started = false;
    }
}

fn has_glob_chars(pattern: &str) -> bool {
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, '*' | '?' | '[') {
            return true;
        }
    }
    false
}

fn unescape_pattern(pattern: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in pattern.chars() {
        if !escaped && c == '\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// Shell pattern matching for one path component (`*`, `?`, `[abc]`, `[!a-z]`, `\x`).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name)
}

fn match_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| match_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && match_from(&pattern[1..], &name[1..]),
        Some('[') => {
            let Some(close) = pattern
                .iter()
                .skip(2)
                .position(|&c| c == ']')
                .map(|p| p + 2)
            else {
                return name.first() == Some(&'[') && match_from(&pattern[1..], &name[1..]);
            };
            let Some(&c) = name.first() else {
                return false;
            };
            let mut set = &pattern[1..close];
            let negated = matches!(set.first(), Some('!' | '^'));
            if negated {
                set = &set[1..];
            }
            let mut found = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    if set[i] <= c && c <= set[i + 2] {
                        found = true;
                    }
                    i += 3;
                } else {
                    if set[i] == c {
                        found = true;
                    }
                    i += 1;
                }
            }
            found != negated && match_from(&pattern[close + 1..], &name[1..])
        }
        Some('\\') if pattern.len() > 1 => {
            name.first() == Some(&pattern[1]) && match_from(&pattern[2..], &name[1..])
        }
        Some(&c) => name.first() == Some(&c) && match_from(&pattern[1..], &name[1..]),
    }
}

#[cfg(test)]
mod tests;
