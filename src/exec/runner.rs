//! Running child processes: argument vectors (never a shell), each child in its own process
//! group and killed if vodbuild dies (PR_SET_PDEATHSIG), ffmpeg `-progress` parsed from
//! stdout, the tail of stderr kept for error messages, and Ctrl-C / SIGTERM forwarded.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static CHILDREN: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Installs the Ctrl-C / SIGTERM handler: stop scheduling, terminate running children.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        for pid in CHILDREN.lock().map(|c| c.clone()).unwrap_or_default() {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
            unsafe {
                libc::kill(-pid, libc::SIGTERM);
            }
        }
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

const STDERR_TAIL: usize = 4000;

/// Runs `program args...`; `on_progress` gets ffmpeg's `out_time` in seconds.
pub fn run(program: &Path, args: &[String], mut on_progress: impl FnMut(f64)) -> Result<Vec<u8>, String> {
    let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if interrupted() {
        return Err("interrupted".into());
    }
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls (setpgid, prctl) run between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let pid = child.id() as i32;
    if let Ok(mut c) = CHILDREN.lock() {
        c.insert(pid);
    }
    if interrupted() {
        // SAFETY: signals the child's own process group.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
    }
    let mut stderr = child.stderr.take().expect("piped");
    let tail = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let mut stdout_bytes = Vec::new();
    if let Some(out) = child.stdout.take() {
        let mut reader = BufReader::new(out);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(us) = line.trim_end().strip_prefix("out_time_us=") {
                if let Ok(us) = us.parse::<i64>() {
                    on_progress(us.max(0) as f64 / 1e6);
                }
            } else {
                stdout_bytes.extend_from_slice(line.as_bytes());
            }
            line.clear();
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for {name}: {e}"));
    if let Ok(mut c) = CHILDREN.lock() {
        c.remove(&pid);
    }
    let status = status?;
    let err = tail.join().unwrap_or_default();
    if interrupted() {
        return Err("interrupted".into());
    }
    if !status.success() {
        let text = String::from_utf8_lossy(&err);
        let text = text.trim();
        let cut = text.len().saturating_sub(STDERR_TAIL);
        let start = (cut..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
        let code = status.code().map(|c| c.to_string()).unwrap_or_else(|| "a signal".into());
        return Err(format!("{name} exited with {code}:\n{}", &text[start..]));
    }
    Ok(stdout_bytes)
}
