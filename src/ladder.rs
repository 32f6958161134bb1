//! Ladder fitting: which video rungs each source gets, from its probe.
//!
//! A rung taller (in displayed height: rotation and sample aspect applied) than the source is
//! not built for it, unless its profile says `upscale: true`. `sources[].exclude` drops rungs;
//! `sources[].renditions` lists exactly the rungs to build (fitting off). A package never
//! loses all its video: when fitting would empty one, its smallest rung is kept (the one
//! closest to the source). Packages list only the rungs built for the source.

use std::collections::HashMap;

use crate::argv::ffmpeg::target_size;
use crate::manifest::{Manifest, Source};
use crate::media::probe::ProbeInfo;

/// The rungs of one source: built, and skipped with the reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fit {
    pub built: Vec<String>,
    pub skipped: Vec<(String, String)>,
    /// The source's audio streams (by its probe; see [`crate::audio`]).
    pub audio_tracks: Option<Vec<crate::media::probe::AudioInfo>>,
    /// The video's sample aspect when its pixels are not square (anamorphic): images made
    /// straight from the source (thumbnails) must be sized by the displayed aspect.
    pub anamorphic: Option<(u32, u32)>,
}

/// Source id → its fit. A source without one (not probed yet, or its probe failed) gets every rung.
pub type Fits = HashMap<String, Fit>;

/// The fit of every source that has a probe.
pub fn fit_all(m: &Manifest, rungs: &[&String], probes: &HashMap<String, ProbeInfo>) -> Fits {
    let fit_one = |s: &Source, info: &ProbeInfo| Fit {
        audio_tracks: Some(info.audio_tracks.clone()),
        anamorphic: info.video.as_ref().map(|v| v.sar).filter(|(w, h)| w != h && *w > 0 && *h > 0),
        ..fit(m, s, info, rungs)
    };
    m.sources.iter().filter_map(|s| Some((s.id.clone(), fit_one(s, probes.get(&s.id)?)))).collect()
}

/// The fit of `src` among `rungs` (the video profiles the packages use, in order).
pub fn fit(m: &Manifest, src: &Source, info: &ProbeInfo, rungs: &[&String]) -> Fit {
    let profiles = &m.raw.profiles.video;
    let mut f = Fit::default();
    if let Some(list) = &src.opts.renditions {
        for r in rungs {
            if list.contains(r) {
                f.built.push(r.to_string());
            } else {
                f.skipped.push((r.to_string(), "not in this source's `renditions`".into()));
            }
        }
        return f;
    }
    let Some(vi) = &info.video else {
        f.built = rungs.iter().map(|r| r.to_string()).collect();
        return f;
    };
    let (sw, sh) = vi.displayed_size();
    let mut too_tall = Vec::new();
    for r in rungs {
        let p = &profiles[r.as_str()];
        let (_, h) = target_size(p, vi);
        if src.opts.exclude.contains(r) {
            f.skipped.push((r.to_string(), "excluded by this source's `exclude`".into()));
        } else if h > sh && !p.upscale {
            f.skipped.push((r.to_string(), format!("source is {sw}x{sh}, below {h}p")));
            too_tall.push((h, r.to_string()));
        } else {
            f.built.push(r.to_string());
        }
    }
    // Every package keeps some video: the smallest too-tall rung it lists.
    let o = &m.raw.outputs;
    let packages = o.hls.iter().map(|h| &h.renditions).chain(o.dash.iter().map(|d| &d.renditions));
    for listed in packages {
        if listed.iter().any(|r| f.built.contains(r)) {
            continue;
        }
        let keep = too_tall.iter().filter(|(_, r)| listed.contains(r)).min_by_key(|(h, _)| *h);
        if let Some((_, r)) = keep {
            f.skipped.retain(|(s, _)| s != r);
            f.built.push(r.clone());
        }
    }
    f.built.sort_by_key(|r| rungs.iter().position(|x| *x == r));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(extra_source: &str) -> Manifest {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.mp4"), b"x").unwrap();
        let text = format!(
            "version: 1\nsources:\n  - path: a.mp4\n{extra_source}profiles:\n  video:\n    1080p: {{codec: h264, height: 1080, bitrate: 5M}}\n    720p: {{codec: h264, height: 720, bitrate: 3M, upscale: true}}\n    360p: {{codec: h264, height: 360, bitrate: 1M}}\noutputs:\n  hls: {{renditions: [1080p, 720p, 360p]}}\n  dash: {{renditions: [1080p]}}\n"
        );
        Manifest::from_text("p.yaml", &text, dir.path(), |_| None).unwrap()
    }

    fn info(w: u32, h: u32, rotation: u32) -> ProbeInfo {
        let j = format!(
            r#"{{"streams":[{{"codec_type":"video","codec_name":"h264","width":{w},"height":{h},"avg_frame_rate":"30/1"}}],"format":{{"duration":"3","format_name":"mov"}}}}"#
        );
        let mut i = crate::media::probe::parse(j.as_bytes()).unwrap().info;
        i.video.as_mut().unwrap().rotation = rotation;
        i
    }

    #[test]
    fn skips_taller_rungs_but_keeps_video_in_every_package() {
        let m = manifest("");
        let rungs: Vec<String> = ["1080p", "720p", "360p"].map(String::from).to_vec();
        let rungs: Vec<&String> = rungs.iter().collect();
        let f = fit(&m, &m.sources[0], &info(640, 360, 0), &rungs);
        // 720p upscales; 1080p is the dash package's only rung, so it stays.
        assert_eq!(f.built, ["1080p", "720p", "360p"]);
        let f = fit(&m, &m.sources[0], &info(1280, 720, 90), &rungs);
        assert_eq!(f.built, ["1080p", "720p", "360p"], "rotated: displayed height is 1280");
        let m = manifest("    exclude: [1080p]\n");
        let f = fit(&m, &m.sources[0], &info(640, 360, 0), &rungs);
        assert_eq!(f.built, ["720p", "360p"]);
        assert_eq!(f.skipped[0].0, "1080p");
    }
}
