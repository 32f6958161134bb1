//! The checks after a rerun completed: no temporaries, outputs equal to the clean build's (or,
//! where an encode legitimately differs, fully decodable and passing `vodbuild verify`), the
//! bucket mirroring the outputs, and a further run with nothing to do.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::proc::Run;
use super::tree::{self, compare};
use super::{Soak, Totals};

/// What one round of checks found (each list names the files).
#[derive(Default)]
pub struct Found {
    pub leftovers: Vec<String>,
    pub corrupt: Vec<String>,
    /// Output files whose bytes differ from the clean build but decode and verify.
    pub differ_valid: usize,
    pub identical: usize,
    pub noop_steps: Option<u64>,
}

impl Found {
    pub fn add_to(&self, t: &mut Totals) {
        t.leftovers += self.leftovers.len();
        t.corrupt += self.corrupt.len();
        t.differ_valid += self.differ_valid;
        t.identical += self.identical;
        if self.noop_steps != Some(0) {
            t.noop_failures += 1;
        }
    }

    pub fn summary(&self) -> String {
        let mut s = format!("{} identical, {} differ but valid", self.identical, self.differ_valid);
        let noop = self.noop_steps.map(|n| n.to_string()).unwrap_or_else(|| "failed".into());
        s += &format!(", no-op run: {noop} steps");
        for (what, list) in [("LEFTOVERS", &self.leftovers), ("CORRUPT", &self.corrupt)] {
            if !list.is_empty() {
                let shown: Vec<&str> = list.iter().take(6).map(String::as_str).collect();
                s += &format!("; {what} ({}): {}", list.len(), shown.join(", "));
            }
        }
        s
    }
}

/// All the checks, in `soak.ws` (its rerun just completed).
pub fn after_rerun(soak: &Soak) -> Result<Found, String> {
    let mut f = Found { leftovers: tree::leftovers(&soak.ws), ..Default::default() };
    f.leftovers.retain(|p| !p.starts_with("media/"));
    let out = soak.ws.join("out");
    // Temporaries are counted as leftovers above, not again as stray outputs.
    let mut d = compare(&out, &soak.reference.join("out"))?;
    d.extra.retain(|p| !p.split('/').any(tree::is_temporary));
    f.identical = d.same;
    f.corrupt.extend(d.missing.iter().map(|p| format!("out/{p}: missing")));
    f.corrupt.extend(d.extra.iter().map(|p| format!("out/{p}: not in the clean build")));
    if !d.differ.is_empty() {
        let bad = decode_and_verify(soak, &d.differ)?;
        f.differ_valid = d.differ.len().saturating_sub(bad.len());
        f.corrupt.extend(bad);
    }
    let mut b = compare(&soak.server_bucket, &out)?;
    b.missing.retain(|p| !p.split('/').any(tree::is_temporary));
    f.corrupt.extend(b.missing.iter().map(|p| format!("bucket {p}: not published")));
    f.corrupt.extend(b.extra.iter().map(|p| format!("bucket {p}: not an output")));
    f.corrupt.extend(b.differ.iter().map(|p| format!("bucket {p}: differs from out/{p}")));
    f.noop_steps = noop(soak)?;
    Ok(f)
}

/// Decodes every differing media file (through its playlist/MPD for segments) with
/// `ffmpeg -v error -f null`, parses differing JSON, and runs `vodbuild verify`; returns what
/// failed.
fn decode_and_verify(soak: &Soak, differ: &[String]) -> Result<Vec<String>, String> {
    let out = soak.ws.join("out");
    let mut inputs: Vec<String> = Vec::new();
    let mut bad = Vec::new();
    for p in differ {
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        let pkg = if dir.ends_with("/hls") || dir.contains("/hls/") {
            Some(format!("{}/hls/master.m3u8", dir.split("/hls").next().unwrap_or(dir)))
        } else if dir.ends_with("/dash") {
            Some(format!("{dir}/manifest.mpd"))
        } else {
            None
        };
        let input = match pkg {
            Some(pkg) => pkg,
            None if name.ends_with(".json") => {
                let text = std::fs::read(out.join(p)).unwrap_or_default();
                if serde_json::from_slice::<Value>(&text).is_err() {
                    bad.push(format!("out/{p}: not JSON"));
                }
                continue;
            }
            None => p.clone(),
        };
        if !inputs.contains(&input) {
            inputs.push(input);
        }
    }
    for input in &inputs {
        let o = Command::new(&soak.ffmpeg)
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(out.join(input))
            .args(["-map", "0", "-f", "null", "-"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("ffmpeg: {e}"))?;
        let err = String::from_utf8_lossy(&o.stderr);
        if !o.status.success() || !err.trim().is_empty() {
            bad.push(format!("out/{input}: decode: {}", err.lines().next().unwrap_or("failed")));
        }
    }
    let o = Command::new(&soak.vodbuild)
        .args(["-q", "verify", "pipeline.yaml"])
        .current_dir(&soak.ws)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("vodbuild verify: {e}"))?;
    if !o.status.success() {
        let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        bad.push(format!("vodbuild verify: {}", text.lines().take(3).collect::<Vec<_>>().join(" | ")));
    }
    Ok(bad)
}

/// Steps a further `vodbuild run` executes (None when it fails).
fn noop(soak: &Soak) -> Result<Option<u64>, String> {
    let report = soak.work.join("noop.json");
    let _ = std::fs::remove_file(&report);
    let rep = report.display().to_string();
    let st = Run::start(&soak.vodbuild, &soak.ws, &["--report", &rep], &soak.log)?.wait(Duration::from_secs(600))?;
    if !st.success() {
        return Ok(None);
    }
    Ok(read_report(&report).and_then(|v| v["executed"].as_u64()))
}

pub fn read_report(p: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}
