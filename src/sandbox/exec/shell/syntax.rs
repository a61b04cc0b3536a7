//! The shell language: a tokenizer and a recursive-descent parser for the
//! POSIX `sh` subset people type into `kubectl exec ... -- sh -c '...'`.
//!
//! Words keep their quoting so that expansion (which needs the container's
//! environment, so happens at run time) can tell `$X` from `"$X"` and `*`
//! from `'*'`.

use std::fmt;

/// A syntax error, printed as busybox `sh` prints it (`sh: syntax error: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    #[error("unexpected {0}")]
    Unexpected(String),
    #[error("unexpected end of file")]
    UnexpectedEof,
    #[error("bad substitution")]
    BadSubstitution,
}

/// One piece of a word, with the quoting it was written in.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Unquoted text: subject to pathname expansion.
    Bare(String),
    /// Text from single quotes, double quotes or a backslash escape.
    Quoted(String),
    /// `$NAME`, `${NAME}`, `${NAME:-word}`..., quoted when inside double quotes.
    Param { param: Param, quoted: bool },
    /// `$(...)` or `` `...` ``.
    Command { script: Script, quoted: bool },
    /// `$((...))`: the expression text.
    Arithmetic { expr: String, quoted: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub op: ParamOp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamOp {
    Plain,
    /// `${#NAME}`
    Length,
    /// `${NAME-word}` / `${NAME:-word}` (`colon` also substitutes for an empty value).
    Default {
        word: Word,
        colon: bool,
    },
    /// `${NAME=word}` / `${NAME:=word}`
    Assign {
        word: Word,
        colon: bool,
    },
    /// `${NAME+word}` / `${NAME:+word}`
    Alternative {
        word: Word,
        colon: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Word(pub Vec<Part>);

impl Word {
    /// The word's text when it is entirely unquoted literal text (reserved words, names).
    pub fn as_bare(&self) -> Option<&str> {
        match self.0.as_slice() {
            [Part::Bare(text)] => Some(text),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Word(Word),
    /// An operator: `;` `&` `&&` `|` `||` `(` `)` or a newline (`\n`).
    Op(&'static str),
    Redirect {
        fd: Option<u32>,
        op: RedirectOp,
    },
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(word) => match word.as_bare() {
                Some(text) => write!(f, "\"{text}\""),
                None => write!(f, "word"),
            },
            Token::Op("\n") => write!(f, "newline"),
            Token::Op(op) => write!(f, "\"{op}\""),
            Token::Redirect { op, .. } => write!(f, "\"{}\"", op.symbol()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    /// `>` (and `>|`)
    Write,
    /// `>>`
    Append,
    /// `<`
    Read,
    /// `>&` (`2>&1`)
    DupOut,
    /// `<&`
    DupIn,
}

impl RedirectOp {
    fn symbol(self) -> &'static str {
        match self {
            RedirectOp::Write => ">",
            RedirectOp::Append => ">>",
            RedirectOp::Read => "<",
            RedirectOp::DupOut => ">&",
            RedirectOp::DupIn => "<&",
        }
    }

    /// The file descriptor a redirection applies to when none is written.
    pub fn default_fd(self) -> u32 {
        match self {
            RedirectOp::Read | RedirectOp::DupIn => 0,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    pub fd: u32,
    pub op: RedirectOp,
    pub target: Word,
}

/// A list of and-or lists separated by `;`, `&` or newlines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script(pub Vec<AndOr>);

#[derive(Debug, Clone, PartialEq)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub negated: bool,
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Simple(SimpleCommand),
    Compound {
        body: Compound,
        redirects: Vec<Redirect>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Compound {
    /// `{ ...; }`
    Group(Script),
    /// `( ... )`
    Subshell(Script),
    If {
        branches: Vec<(Script, Script)>,
        otherwise: Option<Script>,
    },
    For {
        var: String,
        items: Option<Vec<Word>>,
        body: Script,
    },
    /// `while` (or `until` when `until` is set).
    While {
        condition: Script,
        body: Script,
        until: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimpleCommand {
    pub assignments: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

/// Parse a whole script.
pub fn parse(source: &str) -> Result<Script, SyntaxError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser { tokens, pos: 0 };
    let script = parser.script(&[])?;
    match parser.peek() {
        None => Ok(script),
        Some(token) => Err(SyntaxError::Unexpected(token.to_string())),
    }
}

// ---------------------------------------------------------------------------
// Tokenizer

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Valid shell variable name (`NAME=value` assignments, `for NAME`).
pub fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    _source: &'a str,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }
}

/// A word being built: parts, with adjacent literal text merged.
#[derive(Default)]
struct WordBuilder {
    parts: Vec<Part>,
}

impl WordBuilder {
    fn push_bare(&mut self, c: char) {
        if let Some(Part::Bare(text)) = self.parts.last_mut() {
            text.push(c);
        } else {
            self.parts.push(Part::Bare(c.to_string()));
        }
    }

    fn push_quoted(&mut self, text: &str) {
        if let Some(Part::Quoted(existing)) = self.parts.last_mut() {
            existing.push_str(text);
        } else {
            self.parts.push(Part::Quoted(text.to_string()));
        }
    }

    fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    fn take(&mut self) -> Word {
        Word(std::mem::take(&mut self.parts))
    }
}

pub fn tokenize(source: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut lexer = Lexer {
        chars: source.chars().collect(),
        pos: 0,
        _source: source,
    };
    let mut tokens = Vec::new();
    let mut word = WordBuilder::default();
    // Whether the current word was started (so `""` makes an empty word).
    let mut in_word = false;

    macro_rules! finish_word {
        () => {
            if in_word {
                tokens.push(Token::Word(word.take()));
                in_word = false;
            }
        };
    }

    while let Some(c) = lexer.peek() {
        match c {
            ' ' | '\t' | '\r' => {
                lexer.bump();
                finish_word!();
            }
            '\n' => {
                lexer.bump();
                finish_word!();
                tokens.push(Token::Op("\n"));
            }
            '#' if !in_word => {
                while let Some(c) = lexer.peek() {
                    if c == '\n' {
                        break;
                    }
                    lexer.bump();
                }
            }
            ';' | '&' | '|' | '(' | ')' => {
                finish_word!();
                lexer.bump();
                let next = lexer.peek();
                let op = match (c, next) {
                    ('&', Some('&')) => {
                        lexer.bump();
                        "&&"
                    }
                    ('|', Some('|')) => {
                        lexer.bump();
                        "||"
                    }
                    ('&', Some('>')) => {
                        // bash `&>file`: both streams to the file.
                        lexer.bump();
                        let append = lexer.peek() == Some('>');
                        if append {
                            lexer.bump();
                        }
                        tokens.push(Token::Redirect {
                            fd: Some(1),
                            op: if append {
                                RedirectOp::Append
                            } else {
                                RedirectOp::Write
                            },
                        });
                        tokens.push(Token::Op("&>"));
                        continue;
                    }
                    (';', _) => ";",
                    ('&', _) => "&",
                    ('|', _) => "|",
                    ('(', _) => "(",
                    _ => ")",
                };
                tokens.push(Token::Op(op));
            }
            '<' | '>' => {
                // A word made only of digits right before the operator is its fd.
                let fd = match word.parts.as_slice() {
                    [Part::Bare(digits)]
                        if in_word && digits.chars().all(|d| d.is_ascii_digit()) =>
                    {
                        let fd = digits.parse::<u32>().ok();
                        word.take();
                        in_word = false;
                        fd
                    }
                    _ => {
                        finish_word!();
                        None
                    }
                };
                lexer.bump();
                let op = match (c, lexer.peek()) {
                    ('>', Some('>')) => {
                        lexer.bump();
                        RedirectOp::Append
                    }
                    ('>', Some('&')) => {
                        lexer.bump();
                        RedirectOp::DupOut
                    }
                    ('>', Some('|')) => {
                        lexer.bump();
                        RedirectOp::Write
                    }
                    ('>', _) => RedirectOp::Write,
                    ('<', Some('&')) => {
                        lexer.bump();
                        RedirectOp::DupIn
                    }
                    _ => RedirectOp::Read,
                };
                tokens.push(Token::Redirect { fd, op });
            }
            '\\' => {
                lexer.bump();
                in_word = true;
                match lexer.bump() {
                    Some('\n') => {}
                    Some(escaped) => word.push_quoted(&escaped.to_string()),
                    None => word.push_bare('\\'),
                }
            }
            '\'' => {
                lexer.bump();
                in_word = true;
                let mut text = String::new();
                loop {
                    match lexer.bump() {
                        Some('\'') => break,
                        Some(c) => text.push(c),
                        None => return Err(SyntaxError::UnterminatedQuote),
                    }
                }
                word.push_quoted(&text);
            }
            '"' => {
                lexer.bump();
                in_word = true;
                lex_double_quoted(&mut lexer, &mut word)?;
            }
            '$' => {
                in_word = true;
                lex_dollar(&mut lexer, &mut word, false)?;
            }
            '`' => {
                in_word = true;
                lexer.bump();
                let script = lex_backquoted(&mut lexer)?;
                word.parts.push(Part::Command {
                    script,
                    quoted: false,
                });
            }
            _ => {
                lexer.bump();
                in_word = true;
                word.push_bare(c);
            }
        }
    }
    if in_word || !word.is_empty() {
        tokens.push(Token::Word(word.take()));
    }
    // `&>` was lexed as a redirect of fd 1 followed by a marker: rewrite the
    // marker into `2>&1` after the target word.
    Ok(expand_both_redirects(tokens))
}

/// `&> f` means `> f 2>&1`.
fn expand_both_redirects(tokens: Vec<Token>) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut pending = false;
    for token in tokens {
        match token {
            Token::Op("&>") => pending = true,
            Token::Word(word) if pending => {
                out.push(Token::Word(word));
                out.push(Token::Redirect {
                    fd: Some(2),
                    op: RedirectOp::DupOut,
                });
                out.push(Token::Word(Word(vec![Part::Bare("1".into())])));
                pending = false;
            }
            other => out.push(other),
        }
    }
    out
}

fn lex_double_quoted(lexer: &mut Lexer<'_>, word: &mut WordBuilder) -> Result<(), SyntaxError> {
    // An empty "" still makes an (empty) quoted part.
    word.push_quoted("");
    loop {
        match lexer.peek() {
            None => return Err(SyntaxError::UnterminatedQuote),
            Some('"') => {
                lexer.bump();
                return Ok(());
            }
            Some('\\') => {
                lexer.bump();
                match lexer.bump() {
                    Some(c @ ('$' | '`' | '"' | '\\')) => word.push_quoted(&c.to_string()),
                    Some('\n') => {}
                    Some(c) => word.push_quoted(&format!("\\{c}")),
                    None => return Err(SyntaxError::UnterminatedQuote),
                }
            }
            Some('$') => lex_dollar(lexer, word, true)?,
            Some('`') => {
                lexer.bump();
                let script = lex_backquoted(lexer)?;
                word.parts.push(Part::Command {
                    script,
                    quoted: true,
                });
            }
            Some(c) => {
                lexer.bump();
                word.push_quoted(&c.to_string());
            }
        }
    }
}

fn lex_backquoted(lexer: &mut Lexer<'_>) -> Result<Script, SyntaxError> {
    let mut source = String::new();
    loop {
        match lexer.bump() {
            None => return Err(SyntaxError::UnterminatedQuote),
            Some('`') => break,
            Some('\\') => match lexer.bump() {
                Some(c @ ('`' | '\\' | '$')) => source.push(c),
                Some(c) => {
                    source.push('\\');
                    source.push(c);
                }
                None => return Err(SyntaxError::UnterminatedQuote),
            },
            Some(c) => source.push(c),
        }
    }
    parse(&source)
}

/// At a `$`: a parameter, `${...}`, `$(...)`, or a literal dollar sign.
fn lex_dollar(
    lexer: &mut Lexer<'_>,
    word: &mut WordBuilder,
    quoted: bool,
) -> Result<(), SyntaxError> {
    lexer.bump();
    let literal_dollar = |word: &mut WordBuilder| {
        if quoted {
            word.push_quoted("$");
        } else {
            word.push_bare('$');
        }
    };
    match lexer.peek() {
        Some('(') if lexer.peek_at(1) == Some('(') => {
            lexer.bump();
            lexer.bump();
            let inner = read_balanced_parens(lexer)?;
            // `$((expr))`: the inner text ends with the closing `)` of `((`.
            if lexer.peek() != Some(')') {
                return Err(SyntaxError::Unexpected("\")\"".into()));
            }
            lexer.bump();
            word.parts.push(Part::Arithmetic {
                expr: inner,
                quoted,
            });
        }
        Some('(') => {
            lexer.bump();
            let source = read_balanced_parens(lexer)?;
            let script = parse(&source)?;
            word.parts.push(Part::Command { script, quoted });
        }
        Some('{') => {
            lexer.bump();
            let mut inner = String::new();
            let mut depth = 0;
            loop {
                match lexer.bump() {
                    None => return Err(SyntaxError::BadSubstitution),
                    Some('}') if depth == 0 => break,
                    Some(c) => {
                        if c == '{' {
                            depth += 1;
                        } else if c == '}' {
                            depth -= 1;
                        }
                        inner.push(c);
                    }
                }
            }
            let param = parse_braced_param(&inner)?;
            word.parts.push(Part::Param { param, quoted });
        }
        Some(c) if is_name_start(c) => {
            let mut name = String::new();
            while let Some(c) = lexer.peek() {
                if !is_name_char(c) {
                    break;
                }
                name.push(c);
                lexer.bump();
            }
            word.parts.push(Part::Param {
                param: Param {
                    name,
                    op: ParamOp::Plain,
                },
                quoted,
            });
        }
        Some(c @ ('?' | '#' | '@' | '*' | '$' | '!' | '-' | '0'..='9')) => {
            lexer.bump();
            word.parts.push(Part::Param {
                param: Param {
                    name: c.to_string(),
                    op: ParamOp::Plain,
                },
                quoted,
            });
        }
        _ => literal_dollar(word),
    }
    Ok(())
}

/// The source between `$(` and its matching `)`, skipping quoted parentheses.
fn read_balanced_parens(lexer: &mut Lexer<'_>) -> Result<String, SyntaxError> {
    let mut source = String::new();
    let mut depth = 0usize;
    loop {
        let c = lexer.bump().ok_or(SyntaxError::UnexpectedEof)?;
        match c {
            ')' if depth == 0 => return Ok(source),
            '(' => depth += 1,
            ')' => depth -= 1,
            '\'' => {
                source.push(c);
                loop {
                    let q = lexer.bump().ok_or(SyntaxError::UnterminatedQuote)?;
                    source.push(q);
                    if q == '\'' {
                        break;
                    }
                }
                continue;
            }
            '"' => {
                source.push(c);
                loop {
                    let q = lexer.bump().ok_or(SyntaxError::UnterminatedQuote)?;
                    source.push(q);
                    if q == '\\' {
                        if let Some(next) = lexer.bump() {
                            source.push(next);
                        }
                    } else if q == '"' {
                        break;
                    }
                }
                continue;
            }
            '\\' => {
                source.push(c);
                if let Some(next) = lexer.bump() {
                    source.push(next);
                }
                continue;
            }
            _ => {}
        }
        source.push(c);
    }
}

fn parse_braced_param(inner: &str) -> Result<Param, SyntaxError> {
    if let Some(name) = inner.strip_prefix('#')
        && !name.is_empty()
    {
        return Ok(Param {
            name: name.to_string(),
            op: ParamOp::Length,
        });
    }
    let name_len = inner
        .char_indices()
        .find(|(i, c)| {
            if *i == 0 {
                !(is_name_start(*c) || c.is_ascii_digit() || "?#@*$!-".contains(*c))
            } else {
                !is_name_char(*c)
            }
        })
        .map(|(i, _)| i)
        .unwrap_or(inner.len());
    // Special parameters are one character long.
    let name_len = match inner.chars().next() {
        Some(c) if "?#@*$!-".contains(c) || c.is_ascii_digit() => {
            if c.is_ascii_digit() {
                name_len
            } else {
                1
            }
        }
        _ => name_len,
    };
    if name_len == 0 {
        return Err(SyntaxError::BadSubstitution);
    }
    let name = inner[..name_len].to_string();
    let rest = &inner[name_len..];
    if rest.is_empty() {
        return Ok(Param {
            name,
            op: ParamOp::Plain,
        });
    }
    let (colon, rest) = match rest.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let mut chars = rest.chars();
    let operator = chars.next().ok_or(SyntaxError::BadSubstitution)?;
    let word = parse_param_word(chars.as_str())?;
    let op = match operator {
        '-' => ParamOp::Default { word, colon },
        '=' => ParamOp::Assign { word, colon },
        '+' => ParamOp::Alternative { word, colon },
        _ => return Err(SyntaxError::BadSubstitution),
    };
    Ok(Param { name, op })
}

/// The word inside `${NAME:-word}`: quotes and expansions as in a normal word.
fn parse_param_word(source: &str) -> Result<Word, SyntaxError> {
    if source.is_empty() {
        return Ok(Word::default());
    }
    let tokens = tokenize(source)?;
    // Whitespace inside the braces belongs to the word: re-join the pieces.
    let mut parts = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        match token {
            Token::Word(Word(word_parts)) => {
                if i > 0 {
                    parts.push(Part::Bare(" ".into()));
                }
                parts.extend(word_parts);
            }
            other => return Err(SyntaxError::Unexpected(other.to_string())),
        }
    }
    Ok(Word(parts))
}

// ---------------------------------------------------------------------------
// Parser

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

const RESERVED: &[&str] = &[
    "if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until", "{", "}", "!",
];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn peek_reserved(&self) -> Option<&str> {
        match self.peek() {
            Some(Token::Word(word)) => word.as_bare().filter(|w| RESERVED.contains(w)),
            _ => None,
        }
    }

    fn at_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(o)) if *o == op)
    }

    fn skip_newlines(&mut self) {
        while self.at_op("\n") {
            self.pos += 1;
        }
    }

    fn unexpected(&self) -> SyntaxError {
        match self.peek() {
            Some(token) => SyntaxError::Unexpected(token.to_string()),
            None => SyntaxError::UnexpectedEof,
        }
    }

    fn expect_reserved(&mut self, word: &str) -> Result<(), SyntaxError> {
        if self.peek_reserved() == Some(word) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// Commands until EOF, `)` or one of the `terminators` reserved words.
    fn script(&mut self, terminators: &[&str]) -> Result<Script, SyntaxError> {
        let mut items = Vec::new();
        loop {
            while self.at_op("\n") || (self.at_op(";") && !items.is_empty()) {
                self.pos += 1;
            }
            match self.peek() {
                None => break,
                Some(Token::Op(")")) => break,
                _ => {}
            }
            if let Some(word) = self.peek_reserved()
                && terminators.contains(&word)
            {
                break;
            }
            items.push(self.and_or()?);
            match self.peek() {
                Some(Token::Op(";" | "&" | "\n")) => self.pos += 1,
                _ => break,
            }
        }
        Ok(Script(items))
    }

    fn and_or(&mut self) -> Result<AndOr, SyntaxError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let connector = match self.peek() {
                Some(Token::Op("&&")) => Connector::And,
                Some(Token::Op("||")) => Connector::Or,
                _ => break,
            };
            self.pos += 1;
            self.skip_newlines();
            rest.push((connector, self.pipeline()?));
        }
        Ok(AndOr { first, rest })
    }

    fn pipeline(&mut self) -> Result<Pipeline, SyntaxError> {
        let negated = self.peek_reserved() == Some("!");
        if negated {
            self.pos += 1;
        }
        let mut commands = vec![self.command()?];
        while self.at_op("|") {
            self.pos += 1;
            self.skip_newlines();
            commands.push(self.command()?);
        }
        Ok(Pipeline { negated, commands })
    }

    fn command(&mut self) -> Result<Command, SyntaxError> {
        let compound = match (self.peek_reserved(), self.peek()) {
            (Some("if"), _) => Some(self.if_clause()?),
            (Some("for"), _) => Some(self.for_clause()?),
            (Some(keyword @ ("while" | "until")), _) => {
                let until = keyword == "until";
                self.pos += 1;
                let condition = self.script(&["do"])?;
                let body = self.do_group()?;
                Some(Compound::While {
                    condition,
                    body,
                    until,
                })
            }
            (Some("{"), _) => {
                self.pos += 1;
                let body = self.script(&["}"])?;
                self.expect_reserved("}")?;
                Some(Compound::Group(body))
            }
            (None, Some(Token::Op("("))) => {
                self.pos += 1;
                let body = self.script(&[])?;
                if !self.at_op(")") {
                    return Err(self.unexpected());
                }
                self.pos += 1;
                Some(Compound::Subshell(body))
            }
            (Some(word), _) if word != "!" => return Err(self.unexpected()),
            _ => None,
        };
        if let Some(body) = compound {
            let mut redirects = Vec::new();
            while let Some(Token::Redirect { .. }) = self.peek() {
                redirects.push(self.redirect()?);
            }
            return Ok(Command::Compound { body, redirects });
        }
        self.simple_command().map(Command::Simple)
    }

    fn if_clause(&mut self) -> Result<Compound, SyntaxError> {
        self.expect_reserved("if")?;
        let mut branches = Vec::new();
        let mut otherwise = None;
        loop {
            let condition = self.script(&["then"])?;
            self.expect_reserved("then")?;
            let body = self.script(&["elif", "else", "fi"])?;
            branches.push((condition, body));
            match self.peek_reserved() {
                Some("elif") => {
                    self.pos += 1;
                }
                Some("else") => {
                    self.pos += 1;
                    otherwise = Some(self.script(&["fi"])?);
                    self.expect_reserved("fi")?;
                    break;
                }
                Some("fi") => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected()),
            }
        }
        Ok(Compound::If {
            branches,
            otherwise,
        })
    }

    fn for_clause(&mut self) -> Result<Compound, SyntaxError> {
        self.expect_reserved("for")?;
        let var = match self.next() {
            Some(Token::Word(word)) => match word.as_bare() {
                Some(name) if is_name(name) => name.to_string(),
                _ => return Err(SyntaxError::BadSubstitution),
            },
            Some(token) => return Err(SyntaxError::Unexpected(token.to_string())),
            None => return Err(SyntaxError::UnexpectedEof),
        };
        self.skip_newlines();
        let mut items = None;
        if self.peek_reserved() == Some("in") {
            self.pos += 1;
            let mut words = Vec::new();
            while let Some(Token::Word(word)) = self.peek() {
                words.push(word.clone());
                self.pos += 1;
            }
            items = Some(words);
        }
        if matches!(self.peek(), Some(Token::Op(";" | "\n"))) {
            self.pos += 1;
        }
        self.skip_newlines();
        let body = self.do_group()?;
        Ok(Compound::For { var, items, body })
    }

    fn do_group(&mut self) -> Result<Script, SyntaxError> {
        self.expect_reserved("do")?;
        let body = self.script(&["done"])?;
        self.expect_reserved("done")?;
        Ok(body)
    }

    fn redirect(&mut self) -> Result<Redirect, SyntaxError> {
        let Some(Token::Redirect { fd, op }) = self.next() else {
            return Err(self.unexpected());
        };
        match self.next() {
            Some(Token::Word(target)) => Ok(Redirect {
                fd: fd.unwrap_or(op.default_fd()),
                op,
                target,
            }),
            Some(token) => Err(SyntaxError::Unexpected(token.to_string())),
            None => Err(SyntaxError::UnexpectedEof),
        }
    }

    fn simple_command(&mut self) -> Result<SimpleCommand, SyntaxError> {
        let mut command = SimpleCommand::default();
        loop {
            match self.peek() {
                Some(Token::Word(word)) => {
                    let word = word.clone();
                    if command.words.is_empty()
                        && let Some((name, value)) = split_assignment(&word)
                    {
                        command.assignments.push((name, value));
                    } else {
                        command.words.push(word);
                    }
                    self.pos += 1;
                }
                Some(Token::Redirect { .. }) => {
                    let redirect = self.redirect()?;
                    command.redirects.push(redirect);
                }
                _ => break,
            }
        }
        if command.words.is_empty()
            && command.assignments.is_empty()
            && command.redirects.is_empty()
        {
            return Err(self.unexpected());
        }
        Ok(command)
    }
}

/// `NAME=value` at the start of a simple command.
fn split_assignment(word: &Word) -> Option<(String, Word)> {
    let Some(Part::Bare(first)) = word.0.first() else {
        return None;
    };
    let (name, value_start) = first.split_once('=')?;
    if !is_name(name) {
        return None;
    }
    let mut parts = Vec::new();
    if !value_start.is_empty() {
        parts.push(Part::Bare(value_start.to_string()));
    }
    parts.extend(word.0.iter().skip(1).cloned());
    Some((name.to_string(), Word(parts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(text: &str) -> Word {
        Word(vec![Part::Bare(text.into())])
    }

    fn simple(script: &Script) -> &SimpleCommand {
        match &script.0[0].first.commands[0] {
            Command::Simple(command) => command,
            other => panic!("not a simple command: {other:?}"),
        }
    }

    #[test]
    fn quotes_and_escapes_keep_their_quoting() {
        let script = parse(r#"echo 'a b' "c $X" d\ e"#).unwrap();
        let command = simple(&script);
        assert_eq!(command.words[0], bare("echo"));
        assert_eq!(command.words[1], Word(vec![Part::Quoted("a b".into())]));
        assert_eq!(
            command.words[2],
            Word(vec![
                Part::Quoted("c ".into()),
                Part::Param {
                    param: Param {
                        name: "X".into(),
                        op: ParamOp::Plain
                    },
                    quoted: true
                },
            ])
        );
        assert_eq!(
            command.words[3],
            Word(vec![
                Part::Bare("d".into()),
                Part::Quoted(" ".into()),
                Part::Bare("e".into())
            ])
        );
    }

    #[test]
    fn redirections_take_their_fd_from_a_digit_prefix() {
        let script = parse("cmd >out 2>&1 >>log <in 2>err").unwrap();
        let redirects = &simple(&script).redirects;
        let summary: Vec<(u32, RedirectOp)> = redirects.iter().map(|r| (r.fd, r.op)).collect();
        assert_eq!(
            summary,
            vec![
                (1, RedirectOp::Write),
                (2, RedirectOp::DupOut),
                (1, RedirectOp::Append),
                (0, RedirectOp::Read),
                (2, RedirectOp::Write),
            ]
        );
        assert_eq!(redirects[1].target, bare("1"));
    }

    #[test]
    fn and_or_lists_and_pipelines_nest_as_in_sh() {
        let script = parse("a && b || c; d | e\nf").unwrap();
        assert_eq!(script.0.len(), 3);
        assert_eq!(script.0[0].rest.len(), 2);
        assert_eq!(script.0[0].rest[0].0, Connector::And);
        assert_eq!(script.0[0].rest[1].0, Connector::Or);
        assert_eq!(script.0[1].first.commands.len(), 2);
    }

    #[test]
    fn compound_commands_parse() {
        let script =
            parse("if [ -f x ]; then echo y; elif true; then :; else echo n; fi; for i in 1 2; do echo $i; done")
                .unwrap();
        assert!(matches!(
            &script.0[0].first.commands[0],
            Command::Compound {
                body: Compound::If { branches, otherwise: Some(_) },
                ..
            } if branches.len() == 2
        ));
        assert!(matches!(
            &script.0[1].first.commands[0],
            Command::Compound { body: Compound::For { var, items: Some(items), .. }, .. }
                if var == "i" && items.len() == 2
        ));
    }

    #[test]
    fn command_substitution_and_braced_parameters() {
        let script = parse(r#"echo "$(hostname)" ${A:-"x y"}"#).unwrap();
        let words = &simple(&script).words;
        assert!(matches!(&words[1].0[1], Part::Command { quoted: true, .. }));
        match &words[2].0[0] {
            Part::Param {
                param:
                    Param {
                        name,
                        op: ParamOp::Default { word, colon: true },
                    },
                quoted: false,
            } => {
                assert_eq!(name, "A");
                assert_eq!(word.0, vec![Part::Quoted("x y".into())]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn assignments_are_recognised_only_before_the_command_name() {
        let script = parse("A=1 B='2 3' env C=4").unwrap();
        let command = simple(&script);
        assert_eq!(command.assignments.len(), 2);
        assert_eq!(
            command.assignments[1].1,
            Word(vec![Part::Quoted("2 3".into())])
        );
        assert_eq!(command.words.len(), 2);
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert_eq!(parse("echo 'x"), Err(SyntaxError::UnterminatedQuote));
        assert_eq!(parse("fi"), Err(SyntaxError::Unexpected("\"fi\"".into())));
        assert_eq!(parse("echo a &&"), Err(SyntaxError::UnexpectedEof));
        assert!(parse("if true; then echo").is_err());
    }

    #[test]
    fn comments_and_empty_quotes() {
        let script = parse("echo \"\" # ignored").unwrap();
        assert_eq!(
            simple(&script).words[1],
            Word(vec![Part::Quoted(String::new())])
        );
        assert_eq!(simple(&script).words.len(), 2);
    }

    #[test]
    fn both_streams_redirect() {
        let script = parse("cmd &> f").unwrap();
        let redirects = &simple(&script).redirects;
        assert_eq!(redirects.len(), 2);
        assert_eq!((redirects[1].fd, redirects[1].op), (2, RedirectOp::DupOut));
    }
}
