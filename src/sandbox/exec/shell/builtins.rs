//! The programs a simulated container has, each imitating its coreutils
//! counterpart's output, error messages and exit statuses, plus the shell's
//! own built-ins (`cd`, `exit`, `export`...).

use std::time::Duration;

use super::{Exit, FileKind, FsError, Io, MAX_SLEEP, Shell, normalize, program_name, syntax};

/// Programs found on the container's PATH (runnable directly by exec).
pub const PROGRAMS: &[&str] = &[
    "sh", "bash", "ash", "dash", "echo", "printf", "cat", "ls", "rm", "rmdir", "mkdir", "touch",
    "test", "[", "hostname", "sleep", "true", "false", "env", "pwd", "mv", "cp", "head", "tail",
    "wc", "date", "id", "whoami", "uname", "basename", "dirname", "seq",
];

/// Built into the shell only: a runtime cannot exec these.
const SHELL_BUILTINS: &[&str] = &["cd", "exit", "export", "unset", ":", "set", "shift"];

impl Shell {
    /// Run one command with its expanded arguments.
    pub(super) fn run_program<'a>(&'a mut self, argv: &'a [String], io: &'a Io) -> super::Flow<'a> {
        Box::pin(async move {
            let Some(argv0) = argv.first() else {
                return Ok(0);
            };
            let args = &argv[1..];
            let name = if SHELL_BUILTINS.contains(&argv0.as_str()) {
                argv0.as_str()
            } else if let Some(program) = program_name(argv0) {
                program
            } else {
                self.err(io, format!("sh: {argv0}: not found\n"));
                return Ok(127);
            };
            let status = match name {
                "sh" | "bash" | "ash" | "dash" => self.sh(args, io).await,
                "echo" => self.echo(args, io),
                "printf" => self.printf(args, io),
                "cat" => self.cat(args, io).await,
                "ls" => self.ls(args, io),
                "rm" => self.rm(args, io),
                "rmdir" => self.rmdir(args, io),
                "mkdir" => self.mkdir(args, io),
                "touch" => self.touch(args, io),
                "test" => self.test(args, io, false),
                "[" => self.test(args, io, true),
                "hostname" => {
                    self.out(io, format!("{}\n", self.hostname));
                    0
                }
                "sleep" => self.sleep(args, io).await,
                "true" | ":" => 0,
                "false" => 1,
                "env" => self.env(args, io).await,
                "pwd" => {
                    self.out(io, format!("{}\n", self.cwd));
                    0
                }
                "cd" => self.cd(args, io),
                "mv" => self.mv(args, io),
                "cp" => self.cp(args, io),
                "head" => self.head_tail(args, io, true).await,
                "tail" => self.head_tail(args, io, false).await,
                "wc" => self.wc(args, io).await,
                "date" => self.date(args, io),
                "id" => self.id(args, io),
                "whoami" => {
                    self.out(io, "root\n");
                    0
                }
                "uname" => self.uname(args, io),
                "basename" => self.basename(args, io),
                "dirname" => self.dirname(args, io),
                "seq" => self.seq(args, io),
                "exit" => {
                    let status = match args.first() {
                        Some(code) => match code.parse::<i64>() {
                            Ok(code) => (code & 0xff) as i32,
                            Err(_) => {
                                self.err(io, format!("sh: exit: Illegal number: {code}\n"));
                                2
                            }
                        },
                        None => self.last_status,
                    };
                    return Err(Exit(status));
                }
                "export" => {
                    for arg in args {
                        match arg.split_once('=') {
                            Some((name, value)) => self.set_var(name, value.to_string(), true),
                            None => {
                                let value = self.var(arg).unwrap_or_default();
                                self.set_var(arg, value, true);
                            }
                        }
                    }
                    0
                }
                "unset" => {
                    for arg in args.iter().filter(|a| !a.starts_with('-')) {
                        self.unset_var(arg);
                    }
                    0
                }
                "set" => {
                    // Options (-e, -x, -u...) are accepted and ignored;
                    // `set -- a b` replaces the positional parameters.
                    if let Some(i) = args.iter().position(|a| a == "--") {
                        self.positional = args[i + 1..].to_vec();
                    }
                    0
                }
                "shift" => {
                    let n = args.first().and_then(|n| n.parse().ok()).unwrap_or(1);
                    if n > self.positional.len() {
                        self.err(io, "sh: shift: can't shift that many\n");
                        2
                    } else {
                        self.positional.drain(..n);
                        0
                    }
                }
                _ => 127,
            };
            Ok(status)
        })
    }

    fn report(&self, io: &Io, program: &str, message: String) {
        self.err(io, format!("{program}: {message}\n"));
    }

    // -- sh ------------------------------------------------------------------

    async fn sh(&mut self, args: &[String], io: &Io) -> i32 {
        let mut command_string = false;
        let mut rest = args;
        while let Some(first) = rest.first() {
            if first == "--" {
                rest = &rest[1..];
                break;
            }
            if first.len() > 1
                && (first.starts_with('-') || first.starts_with('+'))
                && first[1..].chars().all(|c| c.is_ascii_alphabetic())
            {
                command_string |= first.contains('c');
                rest = &rest[1..];
            } else {
                break;
            }
        }
        let (source, arg0, positional) = if command_string {
            let Some(script) = rest.first() else {
                self.err(io, "sh: -c requires an argument\n");
                return 2;
            };
            let arg0 = rest.get(1).cloned().unwrap_or_else(|| "sh".into());
            let positional = rest.iter().skip(2).cloned().collect();
            (script.clone(), arg0, positional)
        } else if let Some(file) = rest.first() {
            let path = self.path(file);
            match self.fs.read(&path) {
                Ok(data) => (
                    String::from_utf8_lossy(&data).into_owned(),
                    file.clone(),
                    rest[1..].to_vec(),
                ),
                Err(error) => {
                    self.err(io, format!("sh: 0: cannot open {file}: {error}\n"));
                    return 2;
                }
            }
        } else {
            // `sh` reading its script from stdin (`kubectl exec -i ... -- sh < script`).
            let data = io.stdin.read_all().await;
            (
                String::from_utf8_lossy(&data).into_owned(),
                "sh".into(),
                Vec::new(),
            )
        };
        let script = match syntax::parse(&source) {
            Ok(script) => script,
            Err(error) => {
                self.err(io, format!("sh: syntax error: {error}\n"));
                return 2;
            }
        };
        let mut child = Shell::new(&self.child_container());
        child.arg0 = arg0;
        child.positional = positional;
        match child.run_script(&script, io).await {
            Ok(status) | Err(Exit(status)) => status,
        }
    }

    // -- echo / printf ---------------------------------------------------------

    fn echo(&self, args: &[String], io: &Io) -> i32 {
        let mut newline = true;
        let mut escapes = false;
        let mut rest = args;
        while let Some(flag) = rest.first() {
            let letters = match flag.strip_prefix('-') {
                Some(letters)
                    if !letters.is_empty() && letters.chars().all(|c| "neE".contains(c)) =>
                {
                    letters
                }
                _ => break,
            };
            for c in letters.chars() {
                match c {
                    'n' => newline = false,
                    'e' => escapes = true,
                    _ => escapes = false,
                }
            }
            rest = &rest[1..];
        }
        let mut text = rest.join(" ");
        if escapes {
            let (expanded, stop) = interpret_escapes(&text, false);
            text = expanded;
            if stop {
                newline = false;
            }
        }
        if newline {
            text.push('\n');
        }
        self.out(io, text);
        0
    }

    fn printf(&self, args: &[String], io: &Io) -> i32 {
        let Some(format) = args.first() else {
            self.report(io, "printf", "missing operand".into());
            return 1;
        };
        let mut remaining: &[String] = &args[1..];
        let mut output = String::new();
        let mut status = 0;
        loop {
            let (consumed, stop) = format_once(format, remaining, &mut output, &mut |message| {
                status = 1;
                self.report(io, "printf", message);
            });
            remaining = &remaining[consumed.min(remaining.len())..];
            // Like coreutils: reuse the format while arguments remain, as long
            // as it consumes some.
            if stop || remaining.is_empty() || consumed == 0 {
                break;
            }
        }
        self.out(io, output);
        status
    }

    // -- files -----------------------------------------------------------------

    async fn cat(&self, args: &[String], io: &Io) -> i32 {
        let files: Vec<&String> = args.iter().filter(|a| !is_flag(a)).collect();
        if files.is_empty() {
            let data = io.stdin.read_all().await;
            self.out(io, data);
            return 0;
        }
        let mut status = 0;
        for file in files {
            if file == "-" {
                let data = io.stdin.read_all().await;
                self.out(io, data);
                continue;
            }
            match self.fs.read(&self.path(file)) {
                Ok(data) => self.out(io, data),
                Err(error) => {
                    self.report(io, "cat", format!("{file}: {error}"));
                    status = 1;
                }
            }
        }
        status
    }

    fn ls(&self, args: &[String], io: &Io) -> i32 {
        let mut long = false;
        let mut all = false;
        let mut almost_all = false;
        let mut directory = false;
        let mut operands = Vec::new();
        for arg in args {
            match arg.strip_prefix('-') {
                Some(flags) if !flags.is_empty() => {
                    for c in flags.chars() {
                        match c {
                            'l' => long = true,
                            'a' => all = true,
                            'A' => almost_all = true,
                            'd' => directory = true,
                            // -1 (one per line) is the default without a terminal;
                            // sorting and size flags do not change the names listed.
                            _ => {}
                        }
                    }
                }
                _ => operands.push(arg.clone()),
            }
        }
        if operands.is_empty() {
            operands.push(".".into());
        }
        let mut status = 0;
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for operand in &operands {
            let path = self.path(operand);
            match self.fs.info(&path) {
                Ok(info) if info.kind == FileKind::Directory && !directory => {
                    dirs.push((operand.clone(), path))
                }
                Ok(info) => files.push((operand.clone(), info)),
                Err(error) => {
                    self.report(io, "ls", format!("cannot access '{operand}': {error}"));
                    status = 2;
                }
            }
        }
        let mut output = String::new();
        for (name, info) in &files {
            output.push_str(&self.ls_line(name, info, long));
        }
        let headers = operands.len() > 1;
        for (i, (operand, path)) in dirs.iter().enumerate() {
            if headers {
                if i > 0 || !files.is_empty() {
                    output.push('\n');
                }
                output.push_str(&format!("{operand}:\n"));
            }
            let names = match self.fs.list(path) {
                Ok(names) => names,
                Err(error) => {
                    self.report(
                        io,
                        "ls",
                        format!("cannot open directory '{operand}': {error}"),
                    );
                    status = 2;
                    continue;
                }
            };
            let mut entries: Vec<String> = Vec::new();
            if all {
                entries.push(".".into());
                entries.push("..".into());
            }
            entries.extend(
                names
                    .into_iter()
                    .filter(|n| all || almost_all || !n.starts_with('.')),
            );
            let infos: Vec<(String, Option<super::FileInfo>)> = entries
                .into_iter()
                .map(|name| {
                    let info = self.fs.info(&normalize(path, &name)).ok();
                    (name, info)
                })
                .collect();
            if long {
                let blocks: u64 = infos
                    .iter()
                    .filter_map(|(_, info)| info.as_ref())
                    .map(|info| match info.kind {
                        FileKind::Directory => 4,
                        _ => info.len.div_ceil(4096) * 4,
                    })
                    .sum();
                output.push_str(&format!("total {blocks}\n"));
            }
            for (name, info) in infos {
                match info {
                    Some(info) => output.push_str(&self.ls_line(&name, &info, long)),
                    None => output.push_str(&format!("{name}\n")),
                }
            }
        }
        self.out(io, output);
        status
    }

    fn ls_line(&self, name: &str, info: &super::FileInfo, long: bool) -> String {
        if !long {
            return format!("{name}\n");
        }
        let (mode, links, size) = match info.kind {
            FileKind::Directory => ("drwxr-xr-x", 2, 4096),
            FileKind::File => ("-rw-r--r--", 1, info.len),
            FileKind::Device => ("crw-rw-rw-", 1, 0),
        };
        format!(
            "{mode} {links} root root {size} {} {name}\n",
            ls_time(info.modified)
        )
    }

    fn rm(&self, args: &[String], io: &Io) -> i32 {
        let (flags, operands) = split_flags(args);
        let force = flags.contains('f');
        let recursive = flags.contains('r') || flags.contains('R');
        if operands.is_empty() {
            if force {
                return 0;
            }
            self.report(io, "rm", "missing operand".into());
            return 1;
        }
        let mut status = 0;
        for operand in operands {
            let path = self.path(operand);
            if recursive && path == "/" {
                self.report(
                    io,
                    "rm",
                    "it is dangerous to operate recursively on '/'".into(),
                );
                self.report(
                    io,
                    "rm",
                    "use --no-preserve-root to override this failsafe".into(),
                );
                status = 1;
                continue;
            }
            let result = match self.fs.info(&path) {
                Err(FsError::NotFound) if force => Ok(()),
                Err(error) => Err((operand.clone(), error)),
                Ok(info) if info.kind == FileKind::Directory => {
                    if recursive {
                        self.remove_tree(&path, operand)
                    } else {
                        Err((operand.clone(), FsError::IsADirectory))
                    }
                }
                Ok(_) => self
                    .fs
                    .remove_file(&path)
                    .map_err(|error| (operand.clone(), error)),
            };
            if let Err((shown, error)) = result {
                self.report(io, "rm", format!("cannot remove '{shown}': {error}"));
                status = 1;
            }
        }
        status
    }

    /// Remove a directory and everything below it (`rm -r`).
    fn remove_tree(&self, path: &str, shown: &str) -> Result<(), (String, FsError)> {
        let names = self
            .fs
            .list(path)
            .map_err(|error| (shown.to_string(), error))?;
        for name in names {
            let child = normalize(path, &name);
            let child_shown = format!("{}/{name}", shown.trim_end_matches('/'));
            match self.fs.info(&child) {
                Ok(info) if info.kind == FileKind::Directory => {
                    self.remove_tree(&child, &child_shown)?
                }
                Ok(_) => self
                    .fs
                    .remove_file(&child)
                    .map_err(|error| (child_shown, error))?,
                Err(FsError::NotFound) => {}
                Err(error) => return Err((child_shown, error)),
            }
        }
        self.fs
            .remove_dir(path)
            .map_err(|error| (shown.to_string(), error))
    }

    fn rmdir(&self, args: &[String], io: &Io) -> i32 {
        let (_, operands) = split_flags(args);
        let mut status = 0;
        for operand in operands {
            if let Err(error) = self.fs.remove_dir(&self.path(operand)) {
                self.report(
                    io,
                    "rmdir",
                    format!("failed to remove '{operand}': {error}"),
                );
                status = 1;
            }
        }
        status
    }

    fn mkdir(&self, args: &[String], io: &Io) -> i32 {
        let (flags, operands) = split_flags(args);
        let parents = flags.contains('p');
        if operands.is_empty() {
            self.report(io, "mkdir", "missing operand".into());
            return 1;
        }
        let mut status = 0;
        for operand in operands {
            let path = self.path(operand);
            let result = if parents {
                let mut current = String::new();
                let mut result = Ok(());
                for component in path.split('/').filter(|c| !c.is_empty()) {
                    current = format!("{current}/{component}");
                    match self.fs.info(&current) {
                        Ok(info) if info.kind == FileKind::Directory => continue,
                        Ok(_) => {
                            result = Err(FsError::AlreadyExists);
                            break;
                        }
                        Err(_) => {
                            if let Err(error) = self.fs.create_dir(&current) {
                                result = Err(error);
                                break;
                            }
                        }
                    }
                }
                result
            } else {
                self.fs.create_dir(&path)
            };
            if let Err(error) = result {
                self.report(
                    io,
                    "mkdir",
                    format!("cannot create directory '{operand}': {error}"),
                );
                status = 1;
            }
        }
        status
    }

    fn touch(&self, args: &[String], io: &Io) -> i32 {
        let (_, operands) = split_flags(args);
        if operands.is_empty() {
            self.report(io, "touch", "missing file operand".into());
            return 1;
        }
        let mut status = 0;
        for operand in operands {
            let path = self.path(operand);
            let result = match self.fs.info(&path) {
                Ok(_) => self.fs.touch(&path),
                Err(_) => self.fs.write(&path, b"", true),
            };
            if let Err(error) = result {
                self.report(io, "touch", format!("cannot touch '{operand}': {error}"));
                status = 1;
            }
        }
        status
    }

    fn mv(&self, args: &[String], io: &Io) -> i32 {
        let (_, operands) = split_flags(args);
        let Some((target, sources)) = operands.split_last() else {
            self.report(io, "mv", "missing file operand".into());
            return 1;
        };
        if sources.is_empty() {
            self.report(
                io,
                "mv",
                format!("missing destination file operand after '{target}'"),
            );
            return 1;
        }
        let target_path = self.path(target);
        let target_is_dir = self
            .fs
            .info(&target_path)
            .is_ok_and(|i| i.kind == FileKind::Directory);
        if sources.len() > 1 && !target_is_dir {
            self.report(io, "mv", format!("target '{target}' is not a directory"));
            return 1;
        }
        let mut status = 0;
        for source in sources {
            let source_path = self.path(source);
            if let Err(error) = self.fs.info(&source_path) {
                self.report(io, "mv", format!("cannot stat '{source}': {error}"));
                status = 1;
                continue;
            }
            let destination = if target_is_dir {
                normalize(&target_path, base_name(&source_path))
            } else {
                target_path.clone()
            };
            if let Err(error) = self.fs.rename(&source_path, &destination) {
                self.report(
                    io,
                    "mv",
                    format!("cannot move '{source}' to '{target}': {error}"),
                );
                status = 1;
            }
        }
        status
    }

    fn cp(&self, args: &[String], io: &Io) -> i32 {
        let (flags, operands) = split_flags(args);
        let recursive = flags.contains('r') || flags.contains('R') || flags.contains('a');
        let Some((target, sources)) = operands.split_last() else {
            self.report(io, "cp", "missing file operand".into());
            return 1;
        };
        if sources.is_empty() {
            self.report(
                io,
                "cp",
                format!("missing destination file operand after '{target}'"),
            );
            return 1;
        }
        let target_path = self.path(target);
        let target_is_dir = self
            .fs
            .info(&target_path)
            .is_ok_and(|i| i.kind == FileKind::Directory);
        if sources.len() > 1 && !target_is_dir {
            self.report(io, "cp", format!("target '{target}' is not a directory"));
            return 1;
        }
        let mut status = 0;
        for source in sources {
            let source_path = self.path(source);
            let info = match self.fs.info(&source_path) {
                Ok(info) => info,
                Err(error) => {
                    self.report(io, "cp", format!("cannot stat '{source}': {error}"));
                    status = 1;
                    continue;
                }
            };
            let destination = if target_is_dir {
                normalize(&target_path, base_name(&source_path))
            } else {
                target_path.clone()
            };
            let result = if info.kind == FileKind::Directory {
                if !recursive {
                    self.report(
                        io,
                        "cp",
                        format!("-r not specified; omitting directory '{source}'"),
                    );
                    status = 1;
                    continue;
                }
                self.copy_tree(&source_path, &destination)
            } else {
                self.fs
                    .read(&source_path)
                    .and_then(|data| self.fs.write(&destination, &data, false))
            };
            if let Err(error) = result {
                self.report(
                    io,
                    "cp",
                    format!("cannot create regular file '{target}': {error}"),
                );
                status = 1;
            }
        }
        status
    }

    fn copy_tree(&self, from: &str, to: &str) -> Result<(), FsError> {
        match self.fs.create_dir(to) {
            Ok(()) | Err(FsError::AlreadyExists) => {}
            Err(error) => return Err(error),
        }
        for name in self.fs.list(from)? {
            let child_from = normalize(from, &name);
            let child_to = normalize(to, &name);
            if self.fs.info(&child_from)?.kind == FileKind::Directory {
                self.copy_tree(&child_from, &child_to)?;
            } else {
                let data = self.fs.read(&child_from)?;
                self.fs.write(&child_to, &data, false)?;
            }
        }
        Ok(())
    }

    /// The contents of the operands (or stdin), for head/tail/wc.
    async fn inputs(
        &self,
        operands: &[String],
        io: &Io,
        program: &str,
    ) -> (Vec<(String, Vec<u8>)>, i32) {
        if operands.is_empty() {
            return (vec![(String::new(), io.stdin.read_all().await)], 0);
        }
        let mut inputs = Vec::new();
        let mut status = 0;
        for operand in operands {
            if operand == "-" {
                inputs.push((operand.clone(), io.stdin.read_all().await));
                continue;
            }
            match self.fs.read(&self.path(operand)) {
                Ok(data) => inputs.push((operand.clone(), data)),
                Err(error) => {
                    let message = match program {
                        "wc" => format!("{operand}: {error}"),
                        _ => format!("cannot open '{operand}' for reading: {error}"),
                    };
                    self.report(io, program, message);
                    status = 1;
                }
            }
        }
        (inputs, status)
    }

    async fn head_tail(&self, args: &[String], io: &Io, head: bool) -> i32 {
        let program = if head { "head" } else { "tail" };
        let mut lines = 10usize;
        let mut operands = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let count = if arg == "-n" {
                i += 1;
                args.get(i).cloned()
            } else if let Some(n) = arg.strip_prefix("-n") {
                Some(n.to_string())
            } else if arg.len() > 1
                && arg.starts_with('-')
                && arg[1..].chars().all(|c| c.is_ascii_digit())
            {
                Some(arg[1..].to_string())
            } else {
                operands.push(arg.clone());
                None
            };
            if let Some(count) = count {
                match count.trim_start_matches(['+', '-']).parse() {
                    Ok(n) => lines = n,
                    Err(_) => {
                        self.report(io, program, format!("invalid number of lines: '{count}'"));
                        return 1;
                    }
                }
            }
            i += 1;
        }
        let (inputs, status) = self.inputs(&operands, io, program).await;
        let headers = inputs.len() > 1;
        for (i, (name, data)) in inputs.iter().enumerate() {
            if headers {
                if i > 0 {
                    self.out(io, "\n");
                }
                self.out(io, format!("==> {name} <==\n"));
            }
            let all: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
            let selected = if head {
                &all[..lines.min(all.len())]
            } else {
                &all[all.len().saturating_sub(lines)..]
            };
            self.out(io, selected.concat());
        }
        status
    }

    async fn wc(&self, args: &[String], io: &Io) -> i32 {
        let (flags, operands) = split_flags(args);
        let operands: Vec<String> = operands.into_iter().cloned().collect();
        let mut show_lines = flags.contains('l');
        let mut show_words = flags.contains('w');
        let mut show_bytes = flags.contains('c') || flags.contains('m');
        if !show_lines && !show_words && !show_bytes {
            (show_lines, show_words, show_bytes) = (true, true, true);
        }
        let (inputs, status) = self.inputs(&operands, io, "wc").await;
        let counts: Vec<(String, Vec<usize>)> = inputs
            .iter()
            .map(|(name, data)| {
                let mut values = Vec::new();
                if show_lines {
                    values.push(data.iter().filter(|&&b| b == b'\n').count());
                }
                if show_words {
                    values.push(String::from_utf8_lossy(data).split_whitespace().count());
                }
                if show_bytes {
                    values.push(data.len());
                }
                (name.clone(), values)
            })
            .collect();
        let single = counts.len() == 1 && counts[0].1.len() == 1;
        let width = if single {
            0
        } else if operands.is_empty() {
            7
        } else {
            counts
                .iter()
                .flat_map(|(_, v)| v.iter())
                .map(|n| n.to_string().len())
                .max()
                .unwrap_or(1)
        };
        let mut output = String::new();
        for (name, values) in &counts {
            let columns: Vec<String> = values.iter().map(|v| format!("{v:>width$}")).collect();
            output.push_str(&columns.join(" "));
            if !name.is_empty() {
                output.push(' ');
                output.push_str(name);
            }
            output.push('\n');
        }
        self.out(io, output);
        status
    }

    // -- test ------------------------------------------------------------------

    fn test(&self, args: &[String], io: &Io, bracket: bool) -> i32 {
        let args = if bracket {
            match args.split_last() {
                Some((last, rest)) if last == "]" => rest,
                _ => {
                    self.err(io, "sh: [: missing ]\n");
                    return 2;
                }
            }
        } else {
            args
        };
        let program = if bracket { "[" } else { "test" };
        match self.evaluate_test(args) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(message) => {
                self.err(io, format!("sh: {program}: {message}\n"));
                2
            }
        }
    }

    fn evaluate_test(&self, args: &[String]) -> Result<bool, String> {
        // -o binds looser than -a, which binds looser than !.
        if let Some(i) = args.iter().rposition(|a| a == "-o")
            && i > 0
            && i + 1 < args.len()
        {
            return Ok(self.evaluate_test(&args[..i])? || self.evaluate_test(&args[i + 1..])?);
        }
        if let Some(i) = args.iter().rposition(|a| a == "-a")
            && i > 0
            && i + 1 < args.len()
        {
            return Ok(self.evaluate_test(&args[..i])? && self.evaluate_test(&args[i + 1..])?);
        }
        let strs: Vec<&str> = args.iter().map(String::as_str).collect();
        match strs.as_slice() {
            [] => Ok(false),
            [value] => Ok(!value.is_empty()),
            ["!", rest @ ..] => Ok(!self.evaluate_test(&args[args.len() - rest.len()..])?),
            ["(", .., ")"] if args.len() > 2 => self.evaluate_test(&args[1..args.len() - 1]),
            [op, operand] => self.unary_test(op, operand),
            [left, op, right] => binary_test(left, op, right),
            _ => Err("too many arguments".into()),
        }
    }

    fn unary_test(&self, op: &str, operand: &str) -> Result<bool, String> {
        let info = || self.fs.info(&self.path(operand)).ok();
        Ok(match op {
            "-n" => !operand.is_empty(),
            "-z" => operand.is_empty(),
            "-e" | "-r" | "-w" => info().is_some(),
            "-f" => info().is_some_and(|i| i.kind == FileKind::File),
            "-d" => info().is_some_and(|i| i.kind == FileKind::Directory),
            "-c" => info().is_some_and(|i| i.kind == FileKind::Device),
            "-s" => info().is_some_and(|i| i.len > 0 || i.kind == FileKind::Directory),
            // Built-in programs are the only executables; directories are searchable.
            "-x" => info().is_some_and(|i| i.kind == FileKind::Directory),
            "-L" | "-h" | "-p" | "-S" | "-b" => false,
            _ => return Err(format!("{op}: unary operator expected")),
        })
    }

    // -- processes and time ------------------------------------------------------

    async fn sleep(&self, args: &[String], io: &Io) -> i32 {
        if args.is_empty() {
            self.report(io, "sleep", "missing operand".into());
            return 1;
        }
        let mut total = Duration::ZERO;
        for arg in args {
            match parse_duration(arg) {
                Some(duration) => total = total.saturating_add(duration),
                None => {
                    self.report(io, "sleep", format!("invalid time interval '{arg}'"));
                    return 1;
                }
            }
        }
        tokio::time::sleep(total.min(MAX_SLEEP)).await;
        0
    }

    async fn env(&mut self, args: &[String], io: &Io) -> i32 {
        let mut scoped = self.clone();
        let mut rest = args;
        while let Some(first) = rest.first() {
            if first == "-i" {
                for name in scoped.export_order.clone() {
                    scoped.unset_var(&name);
                }
            } else if let Some((name, value)) = first.split_once('=')
                && syntax::is_name(name)
            {
                scoped.set_var(name, value.to_string(), true);
            } else {
                break;
            }
            rest = &rest[1..];
        }
        if rest.is_empty() {
            let mut output = String::new();
            for (name, value) in scoped.environment() {
                output.push_str(&format!("{name}={value}\n"));
            }
            self.out(io, output);
            return 0;
        }
        if program_name(&rest[0]).is_none() {
            self.report(
                io,
                "env",
                format!("'{}': No such file or directory", rest[0]),
            );
            return 127;
        }
        match scoped.run_program(rest, io).await {
            Ok(status) | Err(Exit(status)) => status,
        }
    }

    fn cd(&mut self, args: &[String], io: &Io) -> i32 {
        let target = match args.first() {
            Some(dir) if dir == "-" => self.var("OLDPWD").unwrap_or_else(|| self.cwd.clone()),
            Some(dir) => dir.clone(),
            None => self.var("HOME").unwrap_or_else(|| "/".into()),
        };
        let path = self.path(&target);
        match self.fs.info(&path) {
            Ok(info) if info.kind == FileKind::Directory => {
                let old = std::mem::replace(&mut self.cwd, path.clone());
                self.set_var("OLDPWD", old, false);
                self.set_var("PWD", path, false);
                0
            }
            Ok(_) => {
                self.err(
                    io,
                    format!("sh: cd: can't cd to {target}: Not a directory\n"),
                );
                2
            }
            Err(error) => {
                self.err(io, format!("sh: cd: can't cd to {target}: {error}\n"));
                2
            }
        }
    }

    fn date(&self, args: &[String], io: &Io) -> i32 {
        let now = jiff::Timestamp::now();
        let format = args
            .iter()
            .find_map(|a| a.strip_prefix('+'))
            .unwrap_or("%a %b %e %H:%M:%S %Z %Y");
        let zoned = now.to_zoned(jiff::tz::TimeZone::UTC);
        match jiff::fmt::strtime::format(format, &zoned) {
            Ok(text) => {
                // jiff names the zone by its IANA abbreviation; date(1) prints UTC.
                self.out(io, format!("{text}\n"));
                0
            }
            Err(_) => {
                self.report(io, "date", format!("invalid date format '{format}'"));
                1
            }
        }
    }

    fn id(&self, args: &[String], io: &Io) -> i32 {
        let (flags, _) = split_flags(args);
        let text = match (
            flags.contains('u') || flags.contains('g'),
            flags.contains('n'),
        ) {
            (true, true) => "root",
            (true, false) => "0",
            (false, _) => "uid=0(root) gid=0(root) groups=0(root)",
        };
        self.out(io, format!("{text}\n"));
        0
    }

    fn uname(&self, args: &[String], io: &Io) -> i32 {
        let (flags, _) = split_flags(args);
        let text = if flags.contains('a') {
            format!(
                "Linux {} 6.8.0-sandbox #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux",
                self.hostname
            )
        } else {
            let mut parts = Vec::new();
            for c in flags.chars() {
                match c {
                    's' => parts.push("Linux".to_string()),
                    'n' => parts.push(self.hostname.clone()),
                    'r' => parts.push("6.8.0-sandbox".into()),
                    'm' | 'p' | 'i' => parts.push("x86_64".into()),
                    'o' => parts.push("GNU/Linux".into()),
                    _ => {}
                }
            }
            if parts.is_empty() {
                "Linux".into()
            } else {
                parts.join(" ")
            }
        };
        self.out(io, format!("{text}\n"));
        0
    }

    fn basename(&self, args: &[String], io: &Io) -> i32 {
        let Some(path) = args.first() else {
            self.report(io, "basename", "missing operand".into());
            return 1;
        };
        let trimmed = path.trim_end_matches('/');
        let mut name = if trimmed.is_empty() && !path.is_empty() {
            "/"
        } else {
            base_name(trimmed)
        };
        if let Some(suffix) = args.get(1)
            && name != suffix.as_str()
        {
            name = name.strip_suffix(suffix.as_str()).unwrap_or(name);
        }
        self.out(io, format!("{name}\n"));
        0
    }

    fn dirname(&self, args: &[String], io: &Io) -> i32 {
        let Some(path) = args.first() else {
            self.report(io, "dirname", "missing operand".into());
            return 1;
        };
        let trimmed = path.trim_end_matches('/');
        let dir = match trimmed.rsplit_once('/') {
            Some(("", _)) => "/",
            Some((dir, _)) => dir.trim_end_matches('/'),
            None if path.starts_with('/') => "/",
            None => ".",
        };
        self.out(io, format!("{}\n", if dir.is_empty() { "/" } else { dir }));
        0
    }

    fn seq(&self, args: &[String], io: &Io) -> i32 {
        let numbers: Result<Vec<i64>, _> = args.iter().map(|a| a.parse::<i64>()).collect();
        let Ok(numbers) = numbers else {
            self.report(io, "seq", "invalid argument".into());
            return 1;
        };
        let (first, step, last) = match numbers.as_slice() {
            [last] => (1, 1, *last),
            [first, last] => (*first, 1, *last),
            [first, step, last] if *step != 0 => (*first, *step, *last),
            _ => {
                self.report(io, "seq", "missing operand".into());
                return 1;
            }
        };
        let mut output = String::new();
        let mut n = first;
        while (step > 0 && n <= last) || (step < 0 && n >= last) {
            output.push_str(&format!("{n}\n"));
            n += step;
        }
        self.out(io, output);
        0
    }
}

fn is_flag(arg: &str) -> bool {
    arg.len() > 1 && arg.starts_with('-')
}

/// Letters of all `-xyz` flags, and the operands (everything after `--` is an operand).
fn split_flags(args: &[String]) -> (String, Vec<&String>) {
    let mut flags = String::new();
    let mut operands = Vec::new();
    let mut only_operands = false;
    for arg in args {
        if only_operands {
            operands.push(arg);
        } else if arg == "--" {
            only_operands = true;
        } else if is_flag(arg) && !arg.starts_with("--") {
            flags.push_str(&arg[1..]);
        } else if arg.starts_with("--") {
            // Long options change nothing the simulation shows.
        } else {
            operands.push(arg);
        }
    }
    (flags, operands)
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn binary_test(left: &str, op: &str, right: &str) -> Result<bool, String> {
    let integer = |value: &str| -> Result<i64, String> {
        value
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{value}: integer expected"))
    };
    Ok(match op {
        "=" | "==" => left == right,
        "!=" => left != right,
        "-eq" => integer(left)? == integer(right)?,
        "-ne" => integer(left)? != integer(right)?,
        "-lt" => integer(left)? < integer(right)?,
        "-le" => integer(left)? <= integer(right)?,
        "-gt" => integer(left)? > integer(right)?,
        "-ge" => integer(left)? >= integer(right)?,
        "<" => left < right,
        ">" => left > right,
        _ => return Err(format!("{op}: binary operator expected")),
    })
}

/// `1`, `0.5`, `2s`, `1m`, `1h`, `1d`, `infinity`.
fn parse_duration(text: &str) -> Option<Duration> {
    if text == "infinity" || text == "inf" {
        return Some(MAX_SLEEP);
    }
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let seconds = match unit {
        's' => value,
        'm' => value * 60.0,
        'h' => value * 3600.0,
        'd' => value * 86400.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(
        seconds.min(MAX_SLEEP.as_secs_f64()),
    ))
}

/// `ls -l` time column: `Nov 23 08:55`, or `Nov 23  2025` for old files.
fn ls_time(modified: i64) -> String {
    let Ok(timestamp) = jiff::Timestamp::from_second(modified) else {
        return "Jan  1  1970".into();
    };
    let zoned = timestamp.to_zoned(jiff::tz::TimeZone::UTC);
    let age = jiff::Timestamp::now().as_second() - modified;
    let recent = (0..183 * 86400).contains(&age);
    let format = if recent { "%b %e %H:%M" } else { "%b %e  %Y" };
    jiff::fmt::strtime::format(format, &zoned).unwrap_or_default()
}

/// Backslash escapes of `echo -e` and `printf` (`%b` when `octal_zero`).
/// Returns the text and whether `\c` asked to stop all output.
fn interpret_escapes(text: &str, octal_zero: bool) -> (String, bool) {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('a') => out.push('\x07'),
            Some('b') => out.push('\x08'),
            Some('f') => out.push('\x0c'),
            Some('v') => out.push('\x0b'),
            Some('e') => out.push('\x1b'),
            Some('\\') => out.push('\\'),
            Some('c') => return (out, true),
            Some('0') => {
                let mut value = 0u32;
                for _ in 0..3 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(digit) => {
                            value = value * 8 + digit;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\0'));
            }
            Some(d @ '1'..='7') if !octal_zero => {
                let mut value = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(digit) => {
                            value = value * 8 + digit;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\0'));
            }
            Some('x') => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match chars.peek().and_then(|d| d.to_digit(16)) {
                        Some(digit) => {
                            value = value * 16 + digit;
                            chars.next();
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push_str("\\x");
                } else {
                    out.push(char::from_u32(value).unwrap_or('\0'));
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    (out, false)
}

/// One pass of a printf format over `args`: returns how many arguments it
/// consumed and whether `\c` stopped output.
fn format_once(
    format: &str,
    args: &[String],
    out: &mut String,
    report: &mut dyn FnMut(String),
) -> (usize, bool) {
    let chars: Vec<char> = format.chars().collect();
    let mut consumed = 0;
    let mut i = 0;
    let next_arg = |consumed: &mut usize| -> Option<String> {
        let arg = args.get(*consumed).cloned();
        if arg.is_some() {
            *consumed += 1;
        }
        arg
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let mut escape = String::from('\\');
            i += 1;
            if let Some(&next) = chars.get(i) {
                escape.push(next);
                i += 1;
                // Octal and hex escapes carry their digits along.
                if next == '0' || next == 'x' || next.is_digit(8) {
                    let radix = if next == 'x' { 16 } else { 8 };
                    let mut digits = 0;
                    while digits < 3 && chars.get(i).is_some_and(|d| d.is_digit(radix)) {
                        escape.push(chars[i]);
                        i += 1;
                        digits += 1;
                    }
                }
            }
            let (text, stop) = interpret_escapes(&escape, false);
            out.push_str(&text);
            if stop {
                return (consumed, true);
            }
            continue;
        }
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        if chars.get(i) == Some(&'%') {
            out.push('%');
            i += 1;
            continue;
        }
        // %[flags][width][.precision]conversion
        let mut flags = String::new();
        while let Some(&f) = chars.get(i).filter(|f| "-+ 0#".contains(**f)) {
            flags.push(f);
            i += 1;
        }
        let mut width = String::new();
        while let Some(&d) = chars.get(i).filter(|d| d.is_ascii_digit()) {
            width.push(d);
            i += 1;
        }
        let mut precision: Option<usize> = None;
        if chars.get(i) == Some(&'.') {
            i += 1;
            let mut digits = String::new();
            while let Some(&d) = chars.get(i).filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                i += 1;
            }
            precision = Some(digits.parse().unwrap_or(0));
        }
        let Some(&conversion) = chars.get(i) else {
            report(format!("%{flags}{width}: invalid conversion specification"));
            break;
        };
        i += 1;
        let width: usize = width.parse().unwrap_or(0);
        let left = flags.contains('-');
        let zero = flags.contains('0') && !left;
        let body = match conversion {
            's' => {
                let mut text = next_arg(&mut consumed).unwrap_or_default();
                if let Some(p) = precision {
                    text = text.chars().take(p).collect();
                }
                text
            }
            'b' => {
                let (text, stop) =
                    interpret_escapes(&next_arg(&mut consumed).unwrap_or_default(), true);
                if stop {
                    out.push_str(&text);
                    return (consumed, true);
                }
                text
            }
            'c' => next_arg(&mut consumed)
                .and_then(|a| a.chars().next())
                .map(String::from)
                .unwrap_or_default(),
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
                let arg = next_arg(&mut consumed).unwrap_or_default();
                let value = parse_printf_integer(&arg).unwrap_or_else(|| {
                    report(format!("'{arg}': expected a numeric value"));
                    0
                });
                match conversion {
                    'x' => format!("{value:x}"),
                    'X' => format!("{value:X}"),
                    'o' => format!("{value:o}"),
                    _ => {
                        if flags.contains('+') && value >= 0 {
                            format!("+{value}")
                        } else {
                            value.to_string()
                        }
                    }
                }
            }
            'f' | 'F' | 'e' | 'g' => {
                let arg = next_arg(&mut consumed).unwrap_or_default();
                let value: f64 = if arg.is_empty() {
                    0.0
                } else {
                    arg.trim().parse().unwrap_or_else(|_| {
                        report(format!("'{arg}': expected a numeric value"));
                        0.0
                    })
                };
                format!("{value:.*}", precision.unwrap_or(6))
            }
            other => {
                report(format!("%{other}: invalid conversion specification"));
                return (consumed, true);
            }
        };
        let padding = width.saturating_sub(body.chars().count());
        if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(padding));
        } else if zero && !matches!(conversion, 's' | 'b' | 'c') {
            let (sign, digits) = match body.strip_prefix('-') {
                Some(rest) => ("-", rest),
                None => ("", body.as_str()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(padding));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(padding));
            out.push_str(&body);
        }
    }
    (consumed, false)
}

fn parse_printf_integer(arg: &str) -> Option<i64> {
    let trimmed = arg.trim();
    if trimmed.is_empty() {
        return Some(0);
    }
    if let Some(quoted) = trimmed.strip_prefix(['\'', '"']) {
        return quoted.chars().next().map(|c| c as i64);
    }
    if let Some(hex) = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
    {
        return i64::from_str_radix(hex, 16).ok();
    }
    trimmed.parse().ok()
}
