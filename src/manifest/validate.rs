//! Checks that serde cannot express: references between sections, ranges, and the
//! GOP/segment alignment rule. Each failure is located at the offending field.

use std::collections::BTreeSet;

use super::ErrCtx;
use super::model::{AudioProfile, RawManifest, SourceSpec, ThumbnailsOutput, VideoCodec, VideoProfile};
use super::yaml::Seg;
use crate::error::Result;
use crate::p;

/// Most uploads (and packages publishing) at once: `publish.concurrency`.
pub const MAX_PUBLISH_CONCURRENCY: usize = 64;

pub fn validate(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    if m.version != 1 {
        return Err(ctx.err(
            &p!["version"],
            format!("unsupported manifest version {}", m.version),
            Some("this vodbuild reads `version: 1`".into()),
        ));
    }
    if m.sources.is_empty() {
        return Err(ctx.err(&p!["sources"], "no sources", Some("add `- path: FILE` or `- glob: PATTERN`".into())));
    }
    check_storage(m, ctx)?;
    super::locations::check_all(m, ctx)?;
    for (i, s) in m.sources.iter().enumerate() {
        check_source(m, i, s, ctx)?;
    }
    let gop = m.encoding.gop_seconds;
    if !(gop > 0.0 && gop <= 60.0) {
        return Err(ctx.err(&p!["encoding", "gop_seconds"], "gop_seconds must be in (0, 60]", None));
    }
    let mut names = BTreeSet::new();
    for (name, v) in &m.profiles.video {
        check_name(name).map_err(|why| ctx.err(&p!["profiles", "video", name.as_str()], why, None))?;
        names.insert(name.as_str());
        check_video_profile(name, v, ctx)?;
    }
    for (name, a) in &m.profiles.audio {
        check_audio_profile(name, a, &mut names, ctx)?;
    }
    check_outputs(m, ctx)?;
    super::steps::validate(m, ctx)?;
    super::notify::check(m, ctx)?;
    super::after_publish::check(m, ctx)?;
    if let Some(e) = &m.executor {
        super::executor::check(e, ctx)?;
    }
    super::checks::check(m, ctx)
}

/// One `sources:` entry: one kind (`path`, `glob`, `object`), `backend` with `object` only,
/// a valid `id`.
fn check_source(m: &RawManifest, i: usize, s: &SourceSpec, ctx: &ErrCtx) -> Result<()> {
    let kinds = [s.path.is_some(), s.glob.is_some(), s.object.is_some()].iter().filter(|x| **x).count();
    if kinds != 1 {
        return Err(ctx.err(&p!["sources", i], "a source needs exactly one of `path`, `glob` or `object`", None));
    }
    match (&s.object, &s.backend) {
        (Some(_), None) => {
            return Err(ctx.err(
                &p!["sources", i],
                "an `object` source needs `backend:` (a name from `storage:`)",
                None,
            ));
        }
        (Some(_), Some(b)) if !m.storage.contains_key(b) => {
            return Err(ctx.err(
                &p!["sources", i, "backend"],
                format!("backend `{b}` is not defined in `storage:`"),
                None,
            ));
        }
        (None, Some(_)) => {
            return Err(ctx.err(&p!["sources", i, "backend"], "`backend` goes with `object`", None));
        }
        _ => {}
    }
    if let (None, Some(_), Some(_)) = (&s.path, &s.glob, &s.id) {
        return Err(ctx.err(
            &p!["sources", i, "id"],
            "`id` cannot be given for a glob (each match gets its own id)",
            None,
        ));
    }
    if let Some(id) = &s.id {
        check_id(id)
            .map_err(|why| ctx.err(&p!["sources", i, "id"], format!("invalid source id `{id}`: {why}"), None))?;
    }
    Ok(())
}

/// A video profile: a size, ranges, `bitrate` or `crf` (not both), a codec profile the codec has.
fn check_video_profile(name: &str, v: &VideoProfile, ctx: &ErrCtx) -> Result<()> {
    let at = |f: &str| p!["profiles", "video", name, f];
    if v.height.is_none() && v.width.is_none() {
        return Err(ctx.err(
            &p!["profiles", "video", name],
            format!("profile `{name}` needs `height` (or `width`)"),
            None,
        ));
    }
    for (f, d) in [("height", v.height), ("width", v.width)] {
        if let Some(d) = d
            && !(16..=8192).contains(&d)
        {
            return Err(ctx.err(&at(f), format!("{f} {d} is out of range 16..8192"), None));
        }
    }
    match (v.bitrate, v.crf) {
        (None, None) => {
            return Err(ctx.err(
                &p!["profiles", "video", name],
                format!("profile `{name}` needs `bitrate` or `crf`"),
                None,
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ctx.err(&at("crf"), "give either `bitrate` or `crf`, not both", None));
        }
        _ => {}
    }
    let crf_max = if matches!(v.codec, VideoCodec::Av1 | VideoCodec::Vp9) { 63 } else { 51 };
    if let Some(crf) = v.crf
        && crf > crf_max
    {
        return Err(ctx.err(&at("crf"), format!("crf {crf} is out of range 0..{crf_max}"), None));
    }
    if let Some(max) = v.max_frame_rate
        && !(max > 0.0 && max <= 1000.0)
    {
        return Err(ctx.err(&at("max_frame_rate"), "max_frame_rate must be in (0, 1000]", None));
    }
    check_codec_profile(v, ctx, &at("profile"))
}

/// `profile:` must be one the codec has (none for AV1 and VP9).
fn check_codec_profile(v: &VideoProfile, ctx: &ErrCtx, at: &[Seg]) -> Result<()> {
    let Some(p) = &v.profile else { return Ok(()) };
    let ok: &[&str] = match v.codec {
        VideoCodec::H264 => &["baseline", "main", "high"],
        VideoCodec::Hevc => &["main", "main10"],
        VideoCodec::Av1 | VideoCodec::Vp9 => &[],
    };
    if ok.contains(&p.as_str()) {
        return Ok(());
    }
    let help = if ok.is_empty() {
        "remove `profile` for this codec".to_string()
    } else {
        format!("one of: {}", ok.join(", "))
    };
    Err(ctx.err(at, format!("profile `{p}` is not valid for {:?}", v.codec).to_lowercase(), Some(help)))
}

/// An audio profile: a safe name not used by a video profile, 1 to 8 channels.
fn check_audio_profile<'a>(name: &'a str, a: &AudioProfile, names: &mut BTreeSet<&'a str>, ctx: &ErrCtx) -> Result<()> {
    check_name(name).map_err(|why| ctx.err(&p!["profiles", "audio", name], why, None))?;
    if !names.insert(name) {
        return Err(ctx.err(
            &p!["profiles", "audio", name],
            format!("profile name `{name}` is used for both a video and an audio profile"),
            None,
        ));
    }
    check_track_suffix(name, names).map_err(|(why, help)| ctx.err(&p!["profiles", "audio", name], why, Some(help)))?;
    if !(1..=8).contains(&a.channels) {
        return Err(ctx.err(&p!["profiles", "audio", name, "channels"], "channels must be 1..8", None));
    }
    Ok(())
}

/// The packages, the thumbnails, and at least one output.
fn check_outputs(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    let o = &m.outputs;
    if let Some(h) = &o.hls {
        for a in h.audio.iter().flat_map(|a| a.names()) {
            check_package(m, ctx, "hls", &h.renditions, Some(a), h.segment_seconds)?;
        }
        if h.audio.is_none() {
            check_package(m, ctx, "hls", &h.renditions, None, h.segment_seconds)?;
        }
    }
    if let Some(d) = &o.dash {
        for a in d.audio.iter().flat_map(|a| a.names()) {
            check_package(m, ctx, "dash", &d.renditions, Some(a), d.segment_seconds)?;
        }
        if d.audio.is_none() {
            check_package(m, ctx, "dash", &d.renditions, None, d.segment_seconds)?;
        }
    }
    let audio = o.hls.iter().map(|h| ("hls", &h.audio, &h.audio_tracks));
    for (kind, sel, picks) in audio.chain(o.dash.iter().map(|d| ("dash", &d.audio, &d.audio_tracks))) {
        if let Some((field, why)) = crate::audio::pick::problem(sel.as_ref(), picks.as_deref()) {
            return Err(ctx.err(&p!["outputs", kind, field], why, None));
        }
    }
    if let Some(t) = &o.thumbnails {
        check_thumbnails(t, ctx)?;
    }
    if o.hls.is_none()
        && o.dash.is_none()
        && o.thumbnails.is_none()
        && o.audio_only.is_none()
        && !o.metadata
        && o.storyboard.is_none()
    {
        return Err(ctx.err(
            &p!["outputs"],
            "no outputs",
            Some("add `hls`, `dash`, `thumbnails`, `audio_only` or `metadata`".into()),
        ));
    }
    Ok(())
}

/// Exactly one of `interval` (> 0) or `count` (> 0); a width in 16..4096.
fn check_thumbnails(t: &ThumbnailsOutput, ctx: &ErrCtx) -> Result<()> {
    match (t.interval, t.count) {
        (Some(i), None) if i > 0.0 && i.is_finite() => {}
        (None, Some(c)) if c > 0 => {}
        (Some(_), None) => {
            return Err(ctx.err(&p!["outputs", "thumbnails", "interval"], "interval must be a number > 0", None));
        }
        (None, Some(_)) => return Err(ctx.err(&p!["outputs", "thumbnails", "count"], "count must be > 0", None)),
        _ => {
            return Err(ctx.err(
                &p!["outputs", "thumbnails"],
                "thumbnails need exactly one of `interval` or `count`",
                None,
            ));
        }
    }
    if !(16..=4096).contains(&t.width) {
        return Err(ctx.err(&p!["outputs", "thumbnails", "width"], "width must be in 16..4096", None));
    }
    Ok(())
}

fn check_storage(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    use crate::storage::SERVICES;
    for (name, b) in &m.storage {
        let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(ctx.err(
                &p!["storage", name.as_str()],
                format!("invalid backend name `{name}`: use letters, digits, `-`, `_`"),
                None,
            ));
        }
        if !SERVICES.contains(&b.service.as_str()) {
            return Err(ctx.err(
                &p!["storage", name.as_str(), "service"],
                format!("unknown service `{}`", b.service),
                Some(format!("one of: {}", SERVICES.join(", "))),
            ));
        }
        super::locations::check_backend(name, b, ctx)?;
    }
    if let Some(p) = &m.publish
        && !m.storage.contains_key(&p.to)
    {
        return Err(ctx.err(&p!["publish", "to"], format!("backend `{}` is not defined in `storage:`", p.to), None));
    }
    if let Some(p) = &m.publish
        && !(1..=MAX_PUBLISH_CONCURRENCY).contains(&p.concurrency)
    {
        let why = format!("{} uploads at once is out of range", p.concurrency);
        return Err(ctx.err(&p!["publish", "concurrency"], why, Some(format!("from 1 to {MAX_PUBLISH_CONCURRENCY}"))));
    }
    if let Some(s) = &m.state
        && !m.storage.contains_key(&s.backend)
    {
        return Err(ctx.err(
            &p!["state", "backend"],
            format!("backend `{}` is not defined in `storage:`", s.backend),
            None,
        ));
    }
    Ok(())
}

fn check_package(
    m: &RawManifest,
    ctx: &ErrCtx,
    kind: &str,
    renditions: &[String],
    audio: Option<&str>,
    segment: f64,
) -> Result<()> {
    if renditions.is_empty() {
        return Err(ctx.err(&p!["outputs", kind, "renditions"], "no renditions", None));
    }
    let mut seen = BTreeSet::new();
    for (i, r) in renditions.iter().enumerate() {
        if !m.profiles.video.contains_key(r) {
            let known: Vec<&str> = m.profiles.video.keys().map(String::as_str).collect();
            return Err(ctx.err(
                &p!["outputs", kind, "renditions", i],
                format!("rendition `{r}` is not a video profile"),
                Some(suggest(r, &known)),
            ));
        }
        if !seen.insert(r) {
            return Err(ctx.err(
                &p!["outputs", kind, "renditions", i],
                format!("rendition `{r}` is listed twice"),
                None,
            ));
        }
    }
    if let Some(a) = audio
        && !m.profiles.audio.contains_key(a)
    {
        let known: Vec<&str> = m.profiles.audio.keys().map(String::as_str).collect();
        return Err(ctx.err(
            &p!["outputs", kind, "audio"],
            format!("audio `{a}` is not an audio profile"),
            Some(suggest(a, &known)),
        ));
    }
    let gop = m.encoding.gop_seconds;
    let ratio = segment / gop;
    if segment <= 0.0 || segment.is_nan() || (ratio - ratio.round()).abs() > 1e-6 || ratio.round() < 1.0 {
        return Err(ctx.err(
            &p!["outputs", kind, "segment_seconds"],
            format!("segment_seconds {segment} is not a multiple of encoding.gop_seconds {gop}"),
            Some("segments must start on the closed GOPs shared by all renditions".into()),
        ));
    }
    Ok(())
}

fn suggest(bad: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| (strsim::jaro_winkler(bad, k), *k))
        .filter(|(s, _)| *s > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None if known.is_empty() => "no such profiles are defined".into(),
        None => format!("defined: {}", known.join(", ")),
    }
}

/// The audio rendition of the Nth source stream is named `PROFILE-aN`
/// ([`crate::audio::rendition_name`]): an audio profile named like that (`aac-a1` beside
/// `aac`), or a video profile named like one of an audio profile's renditions, would share
/// its files and folder with another rendition, so one would silently replace the other.
fn check_track_suffix(name: &str, others: &BTreeSet<&str>) -> Result<(), (String, String)> {
    let suffixed =
        |n: &str| n.rsplit_once("-a").is_some_and(|(_, d)| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    let help = "rename it: `-a` followed by digits is kept for the renditions of further source audio streams";
    if suffixed(name) {
        let why = format!(
            "audio profile name `{name}` ends in `-a` and digits, like the rendition of a second source audio stream"
        );
        return Err((why, help.into()));
    }
    if let Some(v) = others.iter().find(|v| v.rsplit_once("-a").is_some_and(|(p, _)| p == name) && suffixed(v)) {
        return Err((format!("video profile `{v}` is named like a rendition of audio profile `{name}`"), help.into()));
    }
    Ok(())
}

/// Profile names become folder names: a safe set, no slashes.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok { Ok(()) } else { Err(format!("invalid profile name `{name}`: use letters, digits, `-`, `_`, `.`")) }
}

/// Source ids become relative folder paths under the output root: they must stay inside it.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 200 {
        return Err("must be 1..200 characters".into());
    }
    if id.starts_with('/') {
        return Err("must be relative (no leading `/`)".into());
    }
    if let Some(c) = id.chars().find(|c| !(c.is_alphanumeric() || "-_./".contains(*c))) {
        let c = c.escape_default();
        return Err(format!("character `{c}` is not allowed (letters, digits, `-`, `_`, `.`, `/`)"));
    }
    for seg in id.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err("must not contain empty, `.` or `..` segments".into());
        }
        if seg.starts_with('.') {
            return Err("segments must not start with `.`".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_id;

    #[test]
    fn ids_stay_inside_the_output_root() {
        assert!(check_id("shows/ep01").is_ok());
        assert!(check_id("épisode").is_ok());
        for bad in ["../x", "/abs", "a//b", "a/./b", "a b", ".hidden", "a/..", "", "a\0b", "a\nb", "a\u{1b}b"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod track_suffix_tests {
    use super::check_track_suffix;
    use std::collections::BTreeSet;

    #[test]
    fn only_a_dash_a_and_digits_suffix_is_kept_for_track_renditions() {
        let none = BTreeSet::new();
        for ok in ["aac", "aac-a", "aac-ab", "aac-a1x", "stereo-5a1", "a1"] {
            assert!(check_track_suffix(ok, &none).is_ok(), "{ok}");
        }
        for bad in ["aac-a1", "x-a10", "aac-b-a0"] {
            assert!(check_track_suffix(bad, &none).is_err(), "{bad}");
        }
        let video: BTreeSet<&str> = ["360p", "aac-a2"].into();
        assert!(check_track_suffix("aac", &video).unwrap_err().0.contains("video profile `aac-a2`"));
        assert!(check_track_suffix("opus", &video).is_ok());
    }
}
