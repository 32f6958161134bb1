//! What each [`Action`] does on the machine that runs the job: the tool, then the kind's
//! post-processing (master playlist, MPD fix, measurements, the verify report; defined in
//! [`crate::kinds`]). Called by [`super::run_job::run`].

use std::path::{Path, PathBuf};

use super::cancel::Cancel;
use super::env::JobEnv;
use super::pipes::Tick;
use super::runner;
use crate::job::Action;
use crate::job::paths::{resolve, resolve_arg};
use crate::step::ToolUse;
use crate::storage::sync::{self, SyncStats};

/// Performs a job's action, writing into the job's temporary outputs.
pub fn perform(
    action: &Action,
    env: &JobEnv,
    cancel: &Cancel,
    progress: &mut dyn FnMut(Tick),
) -> Result<SyncStats, String> {
    let root = env.root.as_path();
    let r = |p: &Path| resolve(root, p);
    let argv = |args: &[String]| -> Vec<String> { args.iter().map(|a| resolve_arg(root, a)).collect() };
    match action {
        Action::Publish(p) => {
            let mut p = p.clone();
            p.local = r(&p.local);
            p.backend.base = p.backend.base.as_deref().map(r);
            return sync::publish(&p, &|| cancel.is_cancelled());
        }
        Action::Probe { source, source_id, out, checks } => {
            let ffprobe = env.tools.get(ToolUse::Ffprobe)?;
            let parsed = super::probe_source::probe_source(cancel, ffprobe, &r(source), source_id, *checks)?;
            write(&r(out), &serde_json::to_vec_pretty(&parsed).expect("json"))
        }
        Action::Run { tool, args } => runner::run(cancel, env.tools.get(*tool)?, &argv(args), progress).map(drop),
        Action::Hls { tool, args, dir, variants, audio, iframes, crypt, audio_set, subtitles } => {
            let mut args = argv(args);
            let _keys = crypt.as_ref().map(|c| crate::crypt::job::prepare(c, *tool, &mut args)).transpose()?;
            runner::run(cancel, env.tools.get(*tool)?, &args, progress)?;
            if *iframes && *tool == ToolUse::Ffmpeg {
                crate::kinds::hls::write_iframe_playlists(&r(dir), variants)?;
            }
            let variants: Vec<(String, PathBuf)> = variants.iter().map(|(n, p)| (n.clone(), r(p))).collect();
            let audio = audio.as_ref().map(|(n, p, c)| (n.clone(), r(p), *c));
            match audio_set {
                Some(set) => crate::audio::hls::write_master(&r(dir), &variants, &set.mapped(&r), *iframes),
                None => crate::kinds::hls::write_master(&r(dir), &variants, audio.as_ref(), *iframes),
            }?;
            crate::kinds::subtitle_hls::add(&r(dir), subtitles, root, crypt.as_ref())
        }
        Action::Dash { tool, args, dir, crypt, storyboard, subtitles } => {
            let mut args = argv(args);
            let _keys = crypt.as_ref().map(|c| crate::crypt::job::prepare(c, *tool, &mut args)).transpose()?;
            runner::run(cancel, env.tools.get(*tool)?, &args, progress)?;
            crate::kinds::dash::fix_mpd(&r(dir))?;
            if let Some((folder, grid)) = storyboard {
                crate::media::storyboard_mpd::add(&r(dir), &r(folder), grid)?;
            }
            crate::kinds::subtitle_dash::add(&r(dir), subtitles, root)
        }
        Action::Storyboard { args, dir, grid } => {
            runner::run(cancel, env.tools.get(ToolUse::Ffmpeg)?, &argv(args), progress)?;
            crate::media::storyboard::finish(&r(dir), grid).map(drop)
        }
        Action::Subtitle(j) => crate::kinds::subtitle::convert(j, root),
        Action::Notify(n) => super::webhook::deliver(n, &r(&n.out)),
        Action::WriteFile { path, contents } => write(&r(path), contents.as_bytes()),
        Action::Loudness { args, out } => {
            let log = runner::run_keeping_stderr(cancel, env.tools.get(ToolUse::Ffmpeg)?, &argv(args), progress)?;
            crate::kinds::loudness::write_report(&log, &r(out))
        }
        Action::Command(c) => super::command::run(c, env, cancel),
        Action::Verify { package, path, duration, out, aspect } => {
            crate::kinds::verify::run(*package, &r(path), *duration, *aspect, root, &r(out))
        }
    }
    .map(|()| SyncStats::default())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}
