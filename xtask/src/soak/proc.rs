//! The processes the soak drives: `vodbuild run` watched through its progress lines (so a
//! kill can be put in a phase), an s3s-fs server that can be killed and restarted on its port,
//! and a small seeded PRNG.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bench::publish::{s3_env, start_s3s};

/// splitmix64: enough for spreading kill times, and reproducible from the printed seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the progress lines on stderr said so far: `LABEL started`, `LABEL done in 1.2s`.
#[derive(Default)]
struct Seen {
    started_any: bool,
    in_flight: BTreeSet<String>,
    publish_started: usize,
}

/// A running `vodbuild run`.
pub struct Run {
    child: Child,
    seen: Arc<Mutex<Seen>>,
    reader: Option<std::thread::JoinHandle<()>>,
    pub started: Instant,
}

/// The phase a step label belongs to (`encode:ID:720p` → encode).
fn phase_of(label: &str) -> &'static str {
    match label.split(':').next().unwrap_or("") {
        "probe" => "probe",
        "encode" => "encode",
        "hls" | "dash" | "package_hls" | "package_dash" => "package",
        "thumbnails" => "thumbnails",
        "audio_only" => "audio_only",
        "metadata" => "metadata",
        k if k.starts_with("publish") => "publish",
        k if k.starts_with("verify") => "verify",
        _ => "other",
    }
}

impl Run {
    /// Starts `vodbuild run pipeline.yaml ARGS` in `ws`; stderr is appended to `log`.
    pub fn start(vodbuild: &Path, ws: &Path, args: &[&str], log: &Path) -> Result<Run, String> {
        let mut c = Command::new(vodbuild);
        c.args(["run", "pipeline.yaml"]).args(args).current_dir(ws);
        s3_env(&mut c).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = c.spawn().map_err(|e| format!("starting {}: {e}", vodbuild.display()))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(log).map_err(|e| e.to_string())?;
        let _ = writeln!(log, "--- vodbuild run pipeline.yaml {}", args.join(" "));
        let s = Arc::clone(&seen);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                let _ = writeln!(log, "{line}");
                // `[7] encode:ID:90p started` (the job number is optional).
                let line = match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
                    Some((_, rest)) => rest,
                    None => line.as_str(),
                };
                let Some((label, rest)) = line.split_once(' ') else { continue };
                let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
                if rest == "started" {
                    s.started_any = true;
                    s.publish_started += (phase_of(label) == "publish") as usize;
                    s.in_flight.insert(label.to_string());
                } else if rest.contains(" in ") && rest.ends_with('s') {
                    s.in_flight.remove(label);
                }
            }
        });
        Ok(Run { child, seen, reader: Some(reader), started: Instant::now() })
    }

    /// The phases of the steps in flight (`encode+publish`), `plan` before the first step
    /// started, `between steps` when none is in flight.
    pub fn phase(&self) -> String {
        let s = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !s.started_any {
            return "plan".into();
        }
        let phases: BTreeSet<&str> = s.in_flight.iter().map(|l| phase_of(l)).collect();
        if phases.is_empty() { "between steps".into() } else { phases.into_iter().collect::<Vec<_>>().join("+") }
    }

    /// How many publish steps have started.
    pub fn publish_started(&self) -> usize {
        self.seen.lock().map(|s| s.publish_started).unwrap_or(0)
    }

    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGKILL (vodbuild's children die with it: PR_SET_PDEATHSIG).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.finish();
    }

    /// Waits at most `limit`; a run still alive then is killed and reported as hung.
    pub fn wait(mut self, limit: Duration) -> Result<ExitStatus, String> {
        let left = limit.saturating_sub(self.started.elapsed());
        if crate::wait::exit_or_kill(&mut self.child, left, Duration::from_millis(20)).is_none() {
            let _ = self.finish();
            return Err(format!("vodbuild run still running after {} s (killed)", limit.as_secs()));
        }
        self.finish()
    }

    fn finish(&mut self) -> Result<ExitStatus, String> {
        let st = self.child.wait().map_err(|e| e.to_string());
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        st
    }
}

/// An s3s-fs server on a fixed port and data folder, restartable.
pub struct Server {
    bin: PathBuf,
    pub data: PathBuf,
    pub port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    pub fn start(bin: &Path, data: &Path, port: u16, log: &Path) -> Result<Server, String> {
        std::fs::create_dir_all(data.join("vod")).map_err(|e| format!("{}: {e}", data.display()))?;
        let mut s = Server { bin: bin.into(), data: data.into(), port, log: log.into(), child: None };
        s.restart()?;
        Ok(s)
    }

    /// The folder holding bucket `vod`'s objects.
    pub fn bucket(&self) -> PathBuf {
        self.data.join("vod")
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.child = Some(start_s3s(&self.bin, &self.data, self.port, &self.log)?);
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
