//! The speech tools of `examples/transcribe` and `tests/command_steps.rs`: pocketsphinx with
//! its US English model (the recogniser) and espeak-ng (speech for the test and the example's
//! clip), from apt, each proven by running it; and `cargo xtask transcribe`, which runs the
//! example from a fresh clone.

use std::path::Path;
use std::process::Command;

use super::apt::ensure_apt;
use super::{Result, banner, cargo, fail, local, repo_root, run};

const MODEL: &str = "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin";
const SPEECH: &str = "Hello world. This is a test of the speech recognition system. The weather is nice today.";

/// pocketsphinx, pocketsphinx-en-us and espeak-ng; proven by recognising a spoken word.
pub fn ensure_speech_tools() -> Result {
    ensure_apt(
        "speech tools (examples/transcribe, tests/command_steps.rs)",
        &["pocketsphinx", "pocketsphinx-en-us", "espeak-ng"],
        &["pocketsphinx_continuous", "espeak-ng", MODEL],
    )?;
    let dir = repo_root().join("target/xtask-speech");
    std::fs::create_dir_all(&dir).map_err(|e| fail("setup: speech tools", e.to_string()))?;
    let wav = dir.join("probe.wav");
    speak(&wav, "testing")?;
    let wav16 = dir.join("probe16.wav");
    let mut to16 = Command::new("ffmpeg");
    to16.args(["-nostdin", "-v", "error", "-y", "-i"]).arg(&wav).args(["-ac", "1", "-ar", "16000"]).arg(&wav16);
    run("setup: 16 kHz probe for pocketsphinx", &mut to16)?;
    let wav16 = wav16.to_string_lossy().into_owned();
    local::prove(Path::new("pocketsphinx_continuous"), &["-infile", &wav16, "-time", "yes", "-logfn", "/dev/null"])
}

/// `text` spoken by espeak-ng into `wav`.
fn speak(wav: &Path, text: &str) -> Result {
    let mut espeak = Command::new("espeak-ng");
    espeak.args(["-s", "140", "-w"]).arg(wav).arg(text);
    run("espeak-ng", &mut espeak)
}

/// `cargo xtask transcribe`: the tools, the example's clip (spoken by espeak-ng over a
/// lavfi picture, made once), vodbuild, and `vodbuild run pipeline.yaml` in the example.
pub fn example() -> Result {
    super::ensure_ffmpeg()?;
    ensure_speech_tools()?;
    let root = repo_root();
    let example = root.join("examples/transcribe");
    let clip = example.join("media/talk.mp4");
    if !clip.is_file() {
        let media = example.join("media");
        std::fs::create_dir_all(&media).map_err(|e| fail("transcribe: media", e.to_string()))?;
        let wav = media.join("talk.wav");
        speak(&wav, SPEECH)?;
        let mut mux = Command::new("ffmpeg");
        mux.args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(&wav)
            .args(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-shortest"])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k"])
            .arg(&clip);
        run("transcribe: make media/talk.mp4 (espeak-ng speech + lavfi picture)", &mut mux)?;
        let _ = std::fs::remove_file(&wav);
    }
    run(
        "transcribe: cargo build -p vodbuild",
        Command::new(cargo()).args(["build", "-p", "vodbuild"]).current_dir(&root),
    )?;
    run(
        "transcribe: vodbuild run pipeline.yaml",
        Command::new(crate::debug_exe(&root)).args(["run", "pipeline.yaml"]).current_dir(&example),
    )?;
    let vtt = example.join("out/talk/captions/captions.vtt");
    let text = std::fs::read_to_string(&vtt).map_err(|e| fail("transcribe: read captions", e.to_string()))?;
    banner(&format!("transcribe: {}", vtt.strip_prefix(&root).unwrap_or(&vtt).display()));
    print!("{text}");
    Ok(())
}
