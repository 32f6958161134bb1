//! Decoding the ends of outputs with ffmpeg, cheaply: the checks of a job queue what must
//! decode (the first and last seconds of a file; an init segment joined with a rendition's
//! first and last fragments; single TS segments and images), and the queue runs as one
//! ffmpeg with several inputs (`-xerror`, `-f null`). Only when that fails is each input
//! decoded on its own, to name the file that does not decode.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Site;
use crate::exec::runner;

/// Inputs per ffmpeg process (bounds argv length and open files).
const BATCH: usize = 16;
/// Longest ffmpeg error text kept in a message.
const ERR_TAIL: usize = 1500;

struct Input {
    /// Input options and `-i URL`.
    args: Vec<String>,
    /// The files it reads, by their final names (for messages).
    shown: String,
}

pub struct Decoder<'a> {
    ffmpeg: &'a Path,
    queue: Vec<Input>,
}

impl<'a> Decoder<'a> {
    pub fn new(ffmpeg: &'a Path) -> Self {
        Decoder { ffmpeg, queue: Vec::new() }
    }

    /// The first half second and the last `tail` seconds of a file.
    pub fn ends(&mut self, site: &Site, path: &Path, tail: f64) {
        let p = path.to_string_lossy().into_owned();
        let shown = site.show(path);
        let head = ["-t", "0.5", "-i", &p].map(String::from).to_vec();
        let end = ["-sseof".to_string(), format!("-{tail:.3}"), "-i".into(), p.clone()];
        self.queue.push(Input { args: head, shown: shown.clone() });
        self.queue.push(Input { args: end.to_vec(), shown });
    }

    /// A whole file (an image, a TS segment).
    pub fn file(&mut self, site: &Site, path: &Path) {
        let args = vec!["-i".to_string(), path.to_string_lossy().into_owned()];
        self.queue.push(Input { args, shown: site.show(path) });
    }

    /// Files read one after the other as one stream (an init segment, then fragments), with
    /// ffmpeg's `concat:` protocol, or piped on stdin when a path holds its separator `|`.
    pub fn joined(&mut self, site: &Site, parts: &[&Path]) -> Result<(), String> {
        let names: Vec<String> = parts.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let shown = parts.iter().map(|p| site.show(p)).collect::<Vec<_>>().join(" + ");
        if names.iter().any(|n| n.contains('|')) {
            let owned = parts.iter().map(|p| p.to_path_buf()).collect();
            let args = ["-i", "pipe:0"].map(String::from);
            return run(self.ffmpeg, &[&args], Some(owned)).map_err(|e| format!("{shown}: does not decode: {e}"));
        }
        let args = vec!["-i".to_string(), format!("concat:{}", names.join("|"))];
        self.queue.push(Input { args, shown });
        Ok(())
    }

    /// Decodes everything queued; the error names the first input that does not decode.
    pub fn run(self) -> Result<(), String> {
        for batch in self.queue.chunks(BATCH) {
            let args: Vec<&[String]> = batch.iter().map(|i| i.args.as_slice()).collect();
            if run(self.ffmpeg, &args, None).is_ok() {
                continue;
            }
            for i in batch {
                run(self.ffmpeg, &[&i.args], None).map_err(|e| format!("{}: does not decode: {e}", i.shown))?;
            }
        }
        Ok(())
    }
}

/// Runs `ffmpeg -xerror INPUTS -map 0 -map 1 ... -f null -`; with `stdin`, those files are
/// piped in.
fn run(ffmpeg: &Path, inputs: &[&[String]], stdin: Option<Vec<PathBuf>>) -> Result<(), String> {
    if runner::interrupted() {
        return Err("interrupted".into());
    }
    let mut cmd = Command::new(ffmpeg);
    cmd.args(["-hide_banner", "-nostats", "-loglevel", "error", "-xerror"]);
    for i in inputs {
        cmd.args(*i);
    }
    for n in 0..inputs.len() {
        cmd.args(["-map", &n.to_string()]);
    }
    cmd.args(["-f", "null", "-"])
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", ffmpeg.display()))?;
    let feeder = match (stdin, child.stdin.take()) {
        (Some(parts), Some(mut pipe)) => Some(std::thread::spawn(move || {
            for p in parts {
                // A broken pipe only means ffmpeg stopped early; its exit status says why.
                let Ok(mut f) = File::open(&p) else { break };
                if std::io::copy(&mut f, &mut pipe).is_err() {
                    break;
                }
            }
        })),
        _ => None,
    };
    let out = child.wait_with_output().map_err(|e| format!("waiting for ffmpeg: {e}"))?;
    if let Some(t) = feeder {
        let _ = t.join();
    }
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let text = text.trim();
    let cut = (text.len().saturating_sub(ERR_TAIL)..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    Err(format!("ffmpeg: {}", &text[cut..]))
}
