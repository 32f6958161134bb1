//! Terminal habits: writing to stdout/stderr without panicking on a closed pipe, whether to
//! colour stderr (`NO_COLOR`, `CLICOLOR_FORCE`, a terminal), and shell-quoting a command line
//! so that `-v` prints something that can be pasted into a shell. While progress bars are
//! drawn ([`set_bars`]), every stderr line (messages and log lines, see [`LogWriter`]) is
//! written with the bars suspended, so it lands above them and no stale frame is left.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// The progress bars on stderr, while they are drawn.
static BARS: Mutex<Option<indicatif::MultiProgress>> = Mutex::new(None);

/// Progress bars start (`Some`) or end (`None`) on stderr.
pub fn set_bars(bars: Option<indicatif::MultiProgress>) {
    *BARS.lock().unwrap_or_else(|e| e.into_inner()) = bars;
}

/// Writes `bytes` to stderr, above the progress bars when they are drawn.
fn write_stderr(bytes: &[u8]) {
    let write = || {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(bytes);
    };
    match BARS.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(bars) => bars.suspend(write),
        None => write(),
    }
}

/// The log's stderr writer (tracing's fmt layer writes each event in one call).
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        write_stderr(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes `text` to stdout. A closed pipe (`vodbuild graph x.yaml | head -1`) is not an error
/// worth a message: the reader has what it wanted, so the rest is dropped and the command
/// ends with its own exit code.
pub fn out(text: &str) {
    write_stdout(|o| o.write_all(text.as_bytes()));
}

/// `value` as pretty JSON and a newline to stdout (see [`out`]), written as it is
/// serialized: a 60,000-step run document is never a string in memory.
pub fn out_json(value: &impl serde::Serialize) {
    write_stdout(|o| {
        serde_json::to_writer_pretty(&mut *o, value).map_err(std::io::Error::from)?;
        o.write_all(b"\n")
    });
}

fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut o = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if let Err(e) = write(&mut o).and_then(|()| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            return;
        }
        // Any other stdout failure (a full disk behind a redirect) is said on stderr.
        let e = crate::error::Error::io("writing to stdout", e);
        err(&format!("vodbuild: {e}"));
        std::process::exit(e.exit_code());
    }
}

/// `text` and a newline to stdout (see [`out`]).
pub fn outln(text: &str) {
    out(&format!("{text}\n"));
}

/// One line to stderr; a closed or broken stderr is ignored (there is nowhere else to say it).
pub fn err(line: &str) {
    write_stderr(format!("{line}\n").as_bytes());
}

/// `eprintln!` without the panic on a broken stderr.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::term::err(&format!($($arg)*))
    };
}

/// Whether stderr gets colour: `NO_COLOR` (non-empty) turns it off, `CLICOLOR_FORCE`
/// (other than `0`) turns it on, and otherwise only a terminal gets it.
pub fn color_stderr() -> bool {
    color_choice(std::env::var_os("NO_COLOR"), std::env::var_os("CLICOLOR_FORCE"), std::io::stderr().is_terminal())
}

fn color_choice(no_color: Option<std::ffi::OsString>, force: Option<std::ffi::OsString>, tty: bool) -> bool {
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if force.is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    tty
}

/// `program args...` quoted for a POSIX shell: plain words stay as they are, anything else
/// is single-quoted.
pub fn shell_line(program: &Path, args: &[String]) -> String {
    let mut words = vec![quote(&program.to_string_lossy())];
    words.extend(args.iter().map(|a| quote(a)));
    words.join(" ")
}

fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-+=/.,:@%^".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_words_and_quotes_the_rest() {
        let args: Vec<String> = ["-i", "my file.mp4", "-filter_complex", "[0:v]split=2[a][b]", "it's", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_line(Path::new("/usr/bin/ffmpeg"), &args),
            r"/usr/bin/ffmpeg -i 'my file.mp4' -filter_complex '[0:v]split=2[a][b]' 'it'\''s' ''"
        );
    }

    #[test]
    fn colour_follows_no_color_then_clicolor_force_then_the_terminal() {
        let s = |v: &str| Some(std::ffi::OsString::from(v));
        assert!(!color_choice(s("1"), s("1"), true));
        assert!(color_choice(s(""), s("1"), false));
        assert!(!color_choice(None, s("0"), false));
        assert!(color_choice(None, None, true));
        assert!(!color_choice(None, None, false));
    }
}
