//! `storyboard`: sprite sheets of thumbnails (`sprite-N.jpg`, `columns` x `rows` tiles, a tile
//! every `interval` seconds, `width` wide at the source's displayed aspect: rotation and
//! sample aspect applied) and the WebVTT thumbnails track `storyboard.vtt` whose cues point at
//! `sprite-N.jpg#xywh=x,y,w,h`, in the `storyboard` folder. Params: `outputs.storyboard`.
//! Inputs: the source, probe.json. Tool: ffmpeg ([`crate::argv::storyboard::args`]), then
//! vodbuild writes the track from ffmpeg's frame list ([`crate::media::storyboard::finish`]).
//! A DASH package of the same source carries the sheets as a DASH-IF thumbnails
//! AdaptationSet ([`crate::media::storyboard_mpd`]).

use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::promise::Promise;
use crate::manifest::Manifest;
use crate::manifest::model::StoryboardOutput;
use crate::media::probe::{ProbeFile, VideoInfo};
use crate::media::storyboard::Grid;
use crate::step::StepKind;

pub const RECIPE: u32 = 1;

/// The folder name (in the source's output folder).
pub const FOLDER: &str = "storyboard";

/// The grid of a source with video `v` lasting `duration` seconds.
pub fn grid(s: &StoryboardOutput, v: &VideoInfo, duration: f64) -> Grid {
    Grid::new(s.interval, (s.columns, s.rows), s.width, v.display_aspect(), duration)
}

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<Action, String> {
    let v = probe.info.video.as_ref().ok_or_else(|| b.no("video"))?;
    let s = b.ctx.m.raw.outputs.storyboard.as_ref().ok_or("no storyboard output")?;
    let g = grid(s, v, probe.info.duration);
    let dir = b.tmp();
    let args = crate::argv::storyboard::args(&b.port(&b.src.path), &g, &dir);
    Ok(Action::Storyboard { args, dir, grid: g })
}

/// The sheets and track match the grid (the tile height comes from the probe at check time).
pub fn promise(m: &Manifest) -> Promise {
    let s = m.raw.outputs.storyboard.as_ref();
    Promise::Storyboard {
        columns: s.map_or(1, |s| s.columns),
        rows: s.map_or(1, |s| s.rows),
        tile_w: s.map_or(0, |s| s.width),
    }
}

/// The DASH package of a source with a storyboard reads it (its sheets join the MPD): an edge
/// storyboard → package_dash among `made` (the source's steps, with their verify steps).
pub fn link_dash(
    sg: &mut crate::dag::StepGraph,
    made: &[(petgraph::graph::NodeIndex, Option<petgraph::graph::NodeIndex>)],
) {
    let find = |k: StepKind| made.iter().map(|(n, _)| *n).find(|n| sg.g[*n].kind == k);
    if let (Some(s), Some(d)) = (find(StepKind::Storyboard), find(StepKind::PackageDash)) {
        sg.g.add_edge(s, d, ());
    }
}

/// For a package step: its source's storyboard folder (as the job names it) and grid, when
/// the step reads a storyboard step.
pub(crate) fn for_package(b: &Builder, probe: &ProbeFile) -> Option<(std::path::PathBuf, Grid)> {
    let sg = b.ctx.sg;
    let dep = sg.deps(b.nodes[0]).into_iter().find(|d| sg.g[*d].kind == StepKind::Storyboard)?;
    let folder = sg.g[dep].output.local()?;
    let s = b.ctx.m.raw.outputs.storyboard.as_ref()?;
    Some((b.port(folder), grid(s, probe.info.video.as_ref()?, probe.info.duration)))
}
