//! Output shared by every command: tables in kubectl's look (upper-case
//! headers, no borders, columns three spaces apart), JSON and YAML of typed
//! structs, and the one decision about colour.

use std::io::{IsTerminal, Write};

use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::error::{Error, Result};

/// Whether to colour output: never with --no-color or NO_COLOR set, and only
/// when stdout is a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Styling {
    pub color: bool,
    /// stdout is a terminal (live redraws are possible).
    pub terminal: bool,
}

impl Styling {
    pub fn detect(no_color_flag: bool) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Styling {
            color: decide_color(no_color_flag, no_color_env, terminal),
            terminal,
        }
    }

    pub fn plain() -> Self {
        Styling {
            color: false,
            terminal: false,
        }
    }
}

/// Colour only on a terminal, and never when the user opted out.
pub fn decide_color(no_color_flag: bool, no_color_env: bool, terminal: bool) -> bool {
    terminal && !no_color_flag && !no_color_env
}

/// What a cell means, so colour is chosen in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Warn,
    Bad,
    Dim,
}

impl Tone {
    fn color(self) -> Option<Color> {
        match self {
            Tone::Plain => None,
            Tone::Good => Some(Color::Green),
            Tone::Warn => Some(Color::Yellow),
            Tone::Bad => Some(Color::Red),
            Tone::Dim => Some(Color::DarkGrey),
        }
    }
}

/// A table cell with an optional tone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Styled {
    pub text: String,
    pub tone: Tone,
}

impl Styled {
    pub fn new(text: impl Into<String>, tone: Tone) -> Self {
        Styled {
            text: text.into(),
            tone,
        }
    }
}

impl From<String> for Styled {
    fn from(text: String) -> Self {
        Styled::new(text, Tone::Plain)
    }
}

impl From<&str> for Styled {
    fn from(text: &str) -> Self {
        Styled::new(text, Tone::Plain)
    }
}

/// Render rows as kubectl does: upper-case headers, left-aligned columns three
/// spaces apart, no borders, no trailing spaces.
pub fn render_table(headers: &[&str], rows: &[Vec<Styled>], styling: Styling) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if styling.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(headers.iter().map(|h| Cell::new(h.to_uppercase())));
    for row in rows {
        table.add_row(row.iter().map(|cell| {
            let mut rendered = Cell::new(&cell.text).set_alignment(CellAlignment::Left);
            if styling.color
                && let Some(color) = cell.tone.color()
            {
                rendered = rendered.fg(color);
            }
            rendered
        }));
    }
    let last = headers.len().saturating_sub(1);
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if index == last { 0 } else { 3 }));
    }
    let mut text: String = table
        .lines()
        .map(|line| line.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Failed(format!("cannot encode output as JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

pub fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value)
        .map_err(|e| Error::Failed(format!("cannot encode output as YAML: {e}")))
}

/// An age the way kubectl prints it (apimachinery's `duration.HumanDuration`):
/// `45s`, `2m30s`, `15m`, `3h20m`, `2d5h`, `400d`, `3y12d`.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The age of a timestamp now, kubectl-style; `<unknown>` without one.
pub fn age(timestamp: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    match timestamp {
        Some(time) => human_duration(jiff::Timestamp::now().as_second() - time.0.as_second()),
        None => "<unknown>".to_string(),
    }
}

/// Write to stdout; a reader that went away (`| head`) ends the command quietly.
pub fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("writing to stdout", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_look_like_kubectl() {
        let rows = vec![
            vec!["web-0".into(), "Running".into(), "www-web-0".into()],
            vec!["web-10".into(), "Pending".into(), "".into()],
        ];
        let text = render_table(&["pod", "status", "claim"], &rows, Styling::plain());
        assert_eq!(
            text,
            "POD      STATUS    CLAIM\nweb-0    Running   www-web-0\nweb-10   Pending\n"
        );
    }

    #[test]
    fn colour_only_on_a_terminal_and_never_when_opted_out() {
        assert!(decide_color(false, false, true));
        assert!(!decide_color(false, false, false));
        assert!(!decide_color(true, false, true));
        assert!(!decide_color(false, true, true));
    }

    #[test]
    fn coloured_tables_carry_escape_codes_and_plain_ones_do_not() {
        let rows = vec![vec![Styled::new("Running", Tone::Good)]];
        let styled = Styling {
            color: true,
            terminal: true,
        };
        assert!(render_table(&["status"], &rows, styled).contains('\u{1b}'));
        assert!(!render_table(&["status"], &rows, Styling::plain()).contains('\u{1b}'));
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 20 * 60), "3h20m");
        assert_eq!(human_duration(10 * 3600), "10h");
        assert_eq!(human_duration(53 * 3600), "2d5h");
        assert_eq!(human_duration(400 * 86400), "400d");
        assert_eq!(human_duration(-1), "0s");
        assert_eq!(human_duration(-5), "<invalid>");
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        stateful_set: String,
        ordinal: i32,
    }

    #[test]
    fn json_and_yaml_use_stable_camel_case_names() {
        let sample = Sample {
            stateful_set: "web".into(),
            ordinal: 2,
        };
        assert!(
            to_json(&sample)
                .unwrap()
                .contains("\"statefulSet\": \"web\"")
        );
        let yaml = to_yaml(&sample).unwrap();
        assert!(yaml.contains("statefulSet: web"), "{yaml}");
        assert!(yaml.contains("ordinal: 2"), "{yaml}");
    }
}
