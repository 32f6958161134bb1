//! Steps that do not apply to a source, decided from its probe.
//!
//! A source without an audio stream has no audio encodes, no `audio_only` output (nor its
//! publish step), and its HLS/DASH packages are built without an audio group. Such a step
//! is reported as `skipped` with the reason (by `plan` and `run`), is never recorded, and
//! contributes no inputs to the steps that read it: its consumers run as if it had
//! produced nothing.
//!
//! The decision needs the source's probe to be current: `run` takes it once the probe step
//! is done; `plan` only when the probe step is fresh (a source not probed yet shows its audio
//! steps as stale, and `run` skips them).

use crate::manifest::Manifest;
use crate::media::probe::ProbeFile;
use crate::step::{Media, Step, StepKind, Subject};

/// Why an audio step does not run for a silent source.
pub const NO_AUDIO: &str = "source has no audio";

/// Whether `step` needs the source's audio stream.
pub fn needs_audio(step: &Step) -> bool {
    match step.kind {
        StepKind::Encode => matches!(step.subject, Subject::Rendition { media: Media::Audio, .. }),
        StepKind::AudioOnly | StepKind::Loudness => true,
        StepKind::Publish => step.subject == Subject::Published(StepKind::AudioOnly),
        StepKind::Command => matches!(step.subject, Subject::Command { audio: true, .. }),
        StepKind::Probe
        | StepKind::PackageHls
        | StepKind::PackageDash
        | StepKind::Thumbnails
        | StepKind::Storyboard
        | StepKind::Metadata
        | StepKind::Verify
        | StepKind::Notify
        | StepKind::Subtitle => false,
    }
}

/// Why `step` does not apply to its source, by the source's probe. None when it applies,
/// or when the probe cannot be read (the step then runs, and fails if it must).
pub fn reason(m: &Manifest, step: &Step) -> Option<&'static str> {
    if crate::audio::files::lang_of(step).is_some() {
        return None; // A sidecar audio file's encode: the source's own audio does not matter.
    }
    if crate::kinds::subtitle_embedded::is(step) {
        return crate::kinds::subtitle_embedded::skip(m, step);
    }
    if !needs_audio(step) && !publishes_audio_command(m, step) {
        return None;
    }
    (has_audio(m, &step.source) == Some(false)).then_some(NO_AUDIO)
}

/// Whether `step` publishes a command step that reads audio (`publish_command:SOURCE:NAME`;
/// ids and step names hold no `:`).
fn publishes_audio_command(m: &Manifest, step: &Step) -> bool {
    step.subject == Subject::Published(StepKind::Command)
        && step.id.rsplit(':').next().is_some_and(|name| crate::manifest::steps::reads_audio(&m.raw, name))
}

/// Whether the source has an audio stream, by its `probe.json` (None when unreadable).
pub fn has_audio(m: &Manifest, source: &str) -> Option<bool> {
    let bytes = std::fs::read(crate::layout::probe(m, source)).ok()?;
    let probe: ProbeFile = serde_json::from_slice(&bytes).ok()?;
    Some(probe.info.audio.is_some())
}
