//! Settings checked at load time: every value that an encoder would reject at run time, ignore,
//! or silently change, or that players cannot decode, is refused here (exit 3, located at the
//! value, with a hint). The rules are listed in the README ("Settings checked at load time").

use super::ErrCtx;
use super::model::{
    AudioCodec, AudioOnlyFormat, AudioProfile, Bitrate, FrameRate, RawManifest, SegmentType, VideoCodec, VideoProfile,
};
use crate::error::{Error, Result};
use crate::manifest::yaml::Seg;
use crate::p;

/// Most thumbnails one source may produce (also passed to ffmpeg as `-frames:v`).
pub const MAX_THUMBNAILS: u32 = 10_000;
/// Shortest thumbnail interval, in seconds.
pub const MIN_THUMBNAIL_INTERVAL: f64 = 0.1;
/// Shortest GOP, in seconds: below it nearly every frame is a keyframe.
pub const MIN_GOP_SECONDS: f64 = 0.25;
/// Frame rates a profile may ask for (`frame_rate`, `max_frame_rate`).
pub const FPS_RANGE: (f64, f64) = (1.0, 240.0);
/// Video bitrates (bitrate, maxrate, bufsize) in bits per second.
pub const VIDEO_BITRATE_RANGE: (u64, u64) = (10_000, 500_000_000);
/// Audio bitrates in bits per second.
pub const AUDIO_BITRATE_RANGE: (u64, u64) = (8_000, 512_000);

const X26X_PRESETS: &[&str] =
    &["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"];
const H264_LEVELS: &[&str] = &[
    "1", "1b", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3", "3.1", "3.2", "4", "4.1", "4.2", "5", "5.1", "5.2", "6",
    "6.1", "6.2",
];
const HEVC_LEVELS: &[&str] = &["1", "2", "2.1", "3", "3.1", "4", "4.1", "5", "5.1", "5.2", "6", "6.1", "6.2"];
const AAC_RATES: &[u32] = &[8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000];
const OPUS_RATES: &[u32] = &[8000, 12000, 16000, 24000, 48000];

/// Runs every settings check; the first failure is returned.
pub fn check(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    let gop = m.encoding.gop_seconds;
    if gop < MIN_GOP_SECONDS {
        return Err(ctx.err(
            &p!["encoding", "gop_seconds"],
            format!("gop_seconds {gop} is below {MIN_GOP_SECONDS}: nearly every frame would be a keyframe"),
            Some("closed GOPs of 1-2 s are usual for streaming (gop_seconds: 2)".into()),
        ));
    }
    for (name, v) in &m.profiles.video {
        let at = |f: &str| -> Vec<Seg> { p!["profiles", "video", name.as_str(), f].to_vec() };
        check_video(v, gop, ctx, &at)?;
    }
    for (name, a) in &m.profiles.audio {
        let at = |f: &str| -> Vec<Seg> { p!["profiles", "audio", name.as_str(), f].to_vec() };
        check_audio(a, ctx, &at)?;
    }
    super::loudness::check(m, ctx)?;
    check_ts(m, ctx)?;
    check_thumbnails(m, ctx)?;
    super::story_checks::check(m, ctx)?;
    if let Some(o) = &m.outputs.audio_only {
        let max = if o.format == AudioOnlyFormat::Mp3 { 320_000 } else { AUDIO_BITRATE_RANGE.1 };
        bitrate_in(o.bitrate, (AUDIO_BITRATE_RANGE.0, max), ctx, &p!["outputs", "audio_only", "bitrate"])?;
    }
    Ok(())
}

type At<'a> = dyn Fn(&str) -> Vec<Seg> + 'a;

fn check_video(v: &VideoProfile, gop: f64, ctx: &ErrCtx, at: &At) -> Result<()> {
    for (f, d) in [("width", v.width), ("height", v.height)] {
        if let Some(d) = d.filter(|d| d % 2 == 1) {
            return Err(ctx.err(
                &at(f),
                format!("{f} {d} is odd: 4:2:0 video needs even sizes, so it would silently become {}", d + 1),
                Some(format!("use {} or {}", d - 1, d + 1)),
            ));
        }
    }
    check_video_rates(v, ctx, at)?;
    check_crf(v, ctx, at)?;
    check_preset(v, ctx, at)?;
    check_level(v, ctx, at)?;
    check_frame_rate(v, gop, ctx, at)
}

fn bitrate_in(b: Bitrate, (lo, hi): (u64, u64), ctx: &ErrCtx, path: &[Seg]) -> Result<()> {
    if (lo..=hi).contains(&b.0) {
        return Ok(());
    }
    let (lo, hi) = (Bitrate(lo), Bitrate(hi));
    Err(ctx.err(
        path,
        format!("{} b/s is out of range {lo}..{hi}", b.0),
        Some("bitrates are in bits per second: write e.g. 800k or 2.5M".into()),
    ))
}

fn check_video_rates(v: &VideoProfile, ctx: &ErrCtx, at: &At) -> Result<()> {
    for (f, b) in [("bitrate", v.bitrate), ("maxrate", v.maxrate), ("bufsize", v.bufsize)] {
        if let Some(b) = b {
            bitrate_in(b, VIDEO_BITRATE_RANGE, ctx, &at(f))?;
        }
    }
    if let (Some(b), Some(m)) = (v.bitrate, v.maxrate)
        && m.0 < b.0
    {
        return Err(ctx.err(
            &at("maxrate"),
            format!("maxrate {m} is below bitrate {b}"),
            Some(format!("maxrate caps the peak: make it at least the bitrate (e.g. {})", Bitrate(b.0 * 11 / 10))),
        ));
    }
    match (v.maxrate, v.bufsize) {
        (Some(m), None) => {
            return Err(ctx.err(
                &at("maxrate"),
                "maxrate needs bufsize: encoders ignore a VBV cap without a buffer size",
                Some(format!("add `bufsize: {}` (about 2 s at maxrate)", Bitrate(m.0 * 2))),
            ));
        }
        (None, Some(_)) => {
            return Err(ctx.err(&at("bufsize"), "bufsize has no effect without maxrate", Some("add `maxrate`".into())));
        }
        _ => {}
    }
    if v.codec == VideoCodec::Av1 && v.crf.is_some() && v.maxrate.is_some() {
        return Err(ctx.err(
            &at("maxrate"),
            "svt-av1 does not hold maxrate with crf (its capped CRF overshot the cap 1.6x when measured)",
            Some("for AV1, give `bitrate` with `maxrate`, or drop `maxrate`/`bufsize`".into()),
        ));
    }
    Ok(())
}

fn check_crf(v: &VideoProfile, ctx: &ErrCtx, at: &At) -> Result<()> {
    let Some(crf) = v.crf else { return Ok(()) };
    let (lo, hi, why) = match v.codec {
        VideoCodec::H264 => (1, 51, "crf 0 is lossless x264, High 4:4:4 Predictive, which browsers cannot play"),
        VideoCodec::Hevc => (0, 51, ""),
        VideoCodec::Av1 => (1, 63, "ffmpeg's libsvtav1 takes crf 0 as unset and encodes at a default bitrate"),
        VideoCodec::Vp9 => (0, 63, ""),
    };
    if (lo..=hi).contains(&crf) {
        return Ok(());
    }
    let codec = codec_name(v.codec);
    let mut message = format!("crf {crf} is out of range {lo}..{hi} for {codec}");
    if crf < lo {
        message = format!("{message}: {why}");
    }
    Err(ctx.err(&at("crf"), message, Some(format!("use {lo}..{hi} (lower is better quality)"))))
}

fn check_preset(v: &VideoProfile, ctx: &ErrCtx, at: &At) -> Result<()> {
    let Some(p) = v.preset.as_deref() else { return Ok(()) };
    let (ok, valid) = match v.codec {
        VideoCodec::H264 | VideoCodec::Hevc => {
            (X26X_PRESETS.contains(&p), format!("one of: {}", X26X_PRESETS.join(", ")))
        }
        VideoCodec::Av1 => (int_in(p, 0, 13), "an svt-av1 preset 0..13 (0 slowest, 13 fastest)".into()),
        VideoCodec::Vp9 => (int_in(p, 0, 8), "a libvpx-vp9 cpu-used value 0..8 (0 slowest, 8 fastest)".into()),
    };
    if ok {
        return Ok(());
    }
    Err(ctx.err(&at("preset"), format!("preset `{p}` is not valid for {}", codec_name(v.codec)), Some(valid)))
}

fn int_in(s: &str, lo: i64, hi: i64) -> bool {
    s.parse::<i64>().is_ok_and(|n| (lo..=hi).contains(&n))
}

fn check_level(v: &VideoProfile, ctx: &ErrCtx, at: &At) -> Result<()> {
    let Some(l) = v.level.as_deref() else { return Ok(()) };
    let levels = match v.codec {
        VideoCodec::H264 => H264_LEVELS,
        VideoCodec::Hevc => HEVC_LEVELS,
        VideoCodec::Av1 | VideoCodec::Vp9 => {
            return Err(ctx.err(
                &at("level"),
                format!("vodbuild sets no level for {}: `level` would be ignored", codec_name(v.codec)),
                Some("remove `level`".into()),
            ));
        }
    };
    let norm = l.strip_suffix(".0").unwrap_or(l);
    if levels.contains(&norm) {
        return Ok(());
    }
    Err(ctx.err(
        &at("level"),
        format!("level `{l}` is not a {} level", codec_name(v.codec)),
        Some(format!("one of: {}", levels.join(", "))),
    ))
}

fn check_frame_rate(v: &VideoProfile, gop: f64, ctx: &ErrCtx, at: &At) -> Result<()> {
    let (lo, hi) = FPS_RANGE;
    let fixed = match v.frame_rate {
        FrameRate::Fixed(n, d) => Some(("frame_rate", n as f64 / d as f64)),
        FrameRate::Source => None,
    };
    for (f, fps) in fixed.into_iter().chain(v.max_frame_rate.map(|m| ("max_frame_rate", m))) {
        if !(lo..=hi).contains(&fps) {
            return Err(ctx.err(
                &at(f),
                format!("{f} {fps} is out of range {lo}..{hi} fps"),
                Some("e.g. 30, 25 or 30000/1001".into()),
            ));
        }
        if gop * fps < 1.0 {
            return Err(ctx.err(
                &at(f),
                format!("a {gop} s GOP at {fps} fps holds less than one frame"),
                Some("raise encoding.gop_seconds or the frame rate".into()),
            ));
        }
    }
    Ok(())
}

fn check_audio(a: &AudioProfile, ctx: &ErrCtx, at: &At) -> Result<()> {
    bitrate_in(a.bitrate, AUDIO_BITRATE_RANGE, ctx, &at("bitrate"))?;
    let (rates, codec) = match a.codec {
        AudioCodec::Aac => (AAC_RATES, "aac"),
        AudioCodec::Opus => (OPUS_RATES, "opus"),
    };
    if rates.contains(&a.sample_rate) {
        return Ok(());
    }
    let list: Vec<String> = rates.iter().map(u32::to_string).collect();
    Err(ctx.err(
        &at("sample_rate"),
        format!("sample_rate {} is not supported by {codec}", a.sample_rate),
        Some(format!("one of: {}", list.join(", "))),
    ))
}

/// MPEG-TS segments: players decode H.264 and AAC there; AV1, VP9 and Opus come out as private
/// data streams, and HEVC in HLS needs fMP4 (Apple's authoring spec).
fn check_ts(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    let Some(h) = m.outputs.hls.as_ref().filter(|h| h.segment_type == SegmentType::Ts) else { return Ok(()) };
    let refuse = |what: String| -> Error {
        ctx.err(
            &p!["outputs", "hls", "segment_type"],
            format!("segment_type: ts cannot carry {what}: players cannot decode it in MPEG-TS"),
            Some("use segment_type: fmp4".into()),
        )
    };
    for r in &h.renditions {
        if let Some(v) = m.profiles.video.get(r)
            && v.codec != VideoCodec::H264
        {
            return Err(refuse(format!("{} (rendition `{r}`)", codec_name(v.codec))));
        }
    }
    for name in h.audio.iter().flat_map(|a| a.names()) {
        if m.profiles.audio.get(name).is_some_and(|a| a.codec == AudioCodec::Opus) {
            return Err(refuse(format!("Opus (audio `{name}`)")));
        }
    }
    Ok(())
}

fn check_thumbnails(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    let Some(t) = &m.outputs.thumbnails else { return Ok(()) };
    if let Some(c) = t.count
        && c > MAX_THUMBNAILS
    {
        return Err(ctx.err(
            &p!["outputs", "thumbnails", "count"],
            format!("count {c} is above the maximum of {MAX_THUMBNAILS} thumbnails"),
            Some(format!("use 1..{MAX_THUMBNAILS}")),
        ));
    }
    if let Some(i) = t.interval
        && !(MIN_THUMBNAIL_INTERVAL..=86_400.0).contains(&i)
    {
        return Err(ctx.err(
            &p!["outputs", "thumbnails", "interval"],
            format!("interval {i} s is out of range {MIN_THUMBNAIL_INTERVAL}..86400"),
            Some(format!("at most {MAX_THUMBNAILS} thumbnails are written per source whatever the interval")),
        ));
    }
    Ok(())
}

fn codec_name(c: VideoCodec) -> &'static str {
    match c {
        VideoCodec::H264 => "H.264",
        VideoCodec::Hevc => "HEVC",
        VideoCodec::Av1 => "AV1",
        VideoCodec::Vp9 => "VP9",
    }
}
