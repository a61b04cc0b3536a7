//! The live full-screen view: the alternate screen in raw mode, redrawn in
//! place inside one synchronized update (no flicker), with key and resize
//! input. Dropping `LiveScreen` restores the terminal, also when the command
//! fails or panics.

use std::io::{Stdout, Write};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{cursor, queue, style, terminal};
use futures::StreamExt;

use crate::error::{Error, Result};

/// What a key press or terminal event asks of the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Quit,
    /// The size changed (or the user asked for a repaint).
    Redraw,
    Ignore,
}

/// q, Esc and Ctrl-C quit (raw mode turns Ctrl-C into a key press); Ctrl-L
/// repaints, as in most full-screen tools.
pub fn input_of(event: &Event) -> Input {
    match event {
        Event::Resize(..) => Input::Redraw,
        Event::Key(KeyEvent {
            code,
            modifiers,
            kind,
            ..
        }) if *kind != KeyEventKind::Release => {
            let ctrl = modifiers.contains(KeyModifiers::CONTROL);
            match code {
                KeyCode::Char('c') | KeyCode::Char('d') if ctrl => Input::Quit,
                KeyCode::Char('l') if ctrl => Input::Redraw,
                KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => Input::Quit,
                _ => Input::Ignore,
            }
        }
        _ => Input::Ignore,
    }
}

pub struct LiveScreen {
    stdout: Stdout,
    events: EventStream,
}

fn terminal_error(err: std::io::Error) -> Error {
    Error::io("drawing on the terminal", err)
}

impl LiveScreen {
    /// Switch to the alternate screen in raw mode with the cursor hidden.
    pub fn enter() -> Result<Self> {
        terminal::enable_raw_mode().map_err(terminal_error)?;
        // From here on Drop undoes whatever part of the setup succeeded.
        let mut screen = LiveScreen {
            stdout: std::io::stdout(),
            events: EventStream::new(),
        };
        queue!(screen.stdout, terminal::EnterAlternateScreen, cursor::Hide)
            .and_then(|()| screen.stdout.flush())
            .map_err(terminal_error)?;
        Ok(screen)
    }

    /// Columns and rows; a sane default when the terminal will not say.
    pub fn size(&self) -> (u16, u16) {
        terminal::size().unwrap_or((80, 24))
    }

    /// Paint `lines` from the top-left corner, clearing what the previous
    /// frame left beyond them; the terminal shows the result at once.
    pub fn draw(&mut self, lines: &[String]) -> Result<()> {
        let out = &mut self.stdout;
        queue!(out, terminal::BeginSynchronizedUpdate, cursor::MoveTo(0, 0))
            .map_err(terminal_error)?;
        for (row, line) in lines.iter().enumerate() {
            let row = u16::try_from(row).unwrap_or(u16::MAX);
            queue!(
                out,
                cursor::MoveTo(0, row),
                style::Print(line),
                style::ResetColor,
                terminal::Clear(terminal::ClearType::UntilNewLine)
            )
            .map_err(terminal_error)?;
        }
        let below = u16::try_from(lines.len()).unwrap_or(u16::MAX);
        queue!(
            out,
            cursor::MoveTo(0, below),
            terminal::Clear(terminal::ClearType::FromCursorDown),
            terminal::EndSynchronizedUpdate
        )
        .map_err(terminal_error)?;
        out.flush().map_err(terminal_error)
    }

    /// The next input that matters; pends forever once the terminal closes.
    pub async fn next_input(&mut self) -> Input {
        loop {
            match self.events.next().await {
                Some(Ok(event)) => match input_of(&event) {
                    Input::Ignore => continue,
                    input => return input,
                },
                Some(Err(_)) => continue,
                None => return std::future::pending().await,
            }
        }
    }
}

impl Drop for LiveScreen {
    fn drop(&mut self) {
        // Best effort: there is nobody to report a failure to while restoring.
        let _ = queue!(self.stdout, cursor::Show, terminal::LeaveAlternateScreen);
        let _ = self.stdout.flush();
        let _ = terminal::disable_raw_mode();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn q_escape_and_ctrl_c_quit_and_resizes_redraw() {
        assert_eq!(
            input_of(&key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Input::Quit
        );
        assert_eq!(
            input_of(&key(KeyCode::Esc, KeyModifiers::NONE)),
            Input::Quit
        );
        assert_eq!(
            input_of(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Input::Quit
        );
        assert_eq!(
            input_of(&key(KeyCode::Char('c'), KeyModifiers::NONE)),
            Input::Ignore
        );
        assert_eq!(
            input_of(&key(KeyCode::Char('l'), KeyModifiers::CONTROL)),
            Input::Redraw
        );
        assert_eq!(input_of(&Event::Resize(100, 40)), Input::Redraw);
    }
}
