//! ffmpeg argument vectors for each step kind. Never a shell: these are passed as argv.
//!
//! Encodes use closed GOPs of `gop_seconds` (forced keyframes at exact multiples, scene-cut
//! keyframes off), so every rendition of a source has keyframes at the same instants and
//! packaging can cut all of them at the same segment boundaries by remuxing.
//!
//! Deterministic bytes: every encoder setting that changes the output (x264 threads, x265
//! thread pool, svt-av1 `lp`, libvpx threads) is fixed here ([`ENCODER_THREADS`]), never taken
//! from the machine's core count or `-j`; the same encode gives byte-identical files on any
//! machine with the same ffmpeg. Decoding and filtering threads are left to ffmpeg: they do
//! not change the bytes.

use std::path::Path;

use crate::manifest::checks::MAX_THUMBNAILS;
use crate::manifest::model::{
    AudioCodec, AudioOnlyFormat, AudioOnlyOutput, AudioProfile, DashOutput, HlsOutput, ImageFormat, SegmentType,
    ThumbnailsOutput, VideoCodec, VideoProfile,
};
use crate::media::probe::VideoInfo;

/// Arguments every invocation starts with: quiet, machine-readable progress on stdout.
pub fn base_args() -> Vec<String> {
    ["-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats", "-progress", "pipe:1"]
        .map(String::from)
        .to_vec()
}

fn push(v: &mut Vec<String>, items: &[&str]) {
    v.extend(items.iter().map(|s| s.to_string()));
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Output size: explicit, or derived from the height (or width) keeping the displayed aspect
/// (rotation and sample aspect applied), each side rounded to the nearest even number
/// (1280x720 rotated 90° at height 360: 202.5 → 202x360).
pub fn target_size(p: &VideoProfile, src: &VideoInfo) -> (u32, u32) {
    let even = |x: f64| ((x / 2.0).round() as u32 * 2).max(2);
    let dar = src.display_aspect();
    match (p.width, p.height) {
        (Some(w), Some(h)) => (even(w as f64), even(h as f64)),
        (None, Some(h)) => (even(h as f64 * dar), even(h as f64)),
        (Some(w), None) => (even(w as f64), even(w as f64 / dar)),
        (None, None) => (even(src.width as f64), even(src.height as f64)),
    }
}

pub use super::filters::target_fps;

/// Threads of each x264 / x265 / libvpx encoder. Fixed: these encoders' output depends on
/// their thread count, and a fixed count gives the same bytes on 1 core or 64.
pub const ENCODER_THREADS: u32 = 4;

/// One ffmpeg that decodes the source once and writes every listed rendition.
pub fn encode_args(
    source: &Path,
    src: Option<&VideoInfo>,
    video: &[(&VideoProfile, &Path)],
    audio: &[(&AudioProfile, &Path)],
    gop_seconds: f64,
) -> Vec<String> {
    let mut a = base_args();
    push(&mut a, &["-i", &path(source)]);
    if let (Some(src), false) = (src, video.is_empty()) {
        let mut graph = String::new();
        let prelude = super::filters::source_prelude(src);
        if video.len() > 1 {
            graph += &format!("[0:v:0]{prelude}split={}", video.len());
            for i in 0..video.len() {
                graph += &format!("[in{i}]");
            }
            graph += ";";
        }
        for (i, (p, _)) in video.iter().enumerate() {
            let input = if video.len() > 1 { format!("[in{i}]") } else { format!("[0:v:0]{prelude}") };
            let chain = super::filters::rendition_chain(p, src, target_size(p, src));
            graph += &format!("{input}{chain}[v{i}];");
        }
        graph.pop();
        push(&mut a, &["-filter_complex", &graph]);
        for (i, (p, out)) in video.iter().enumerate() {
            let ((n, d), _) = target_fps(p, src);
            let keyint = ((gop_seconds * n as f64 / d as f64).round() as u32).max(1);
            push(&mut a, &["-map", &format!("[v{i}]"), "-an", "-sn", "-dn"]);
            video_codec_args(&mut a, p, keyint, gop_seconds);
            push(&mut a, &["-f", "mp4", &path(out)]);
        }
    }
    for (p, out) in audio {
        push(&mut a, &["-map", "0:a:0", "-vn", "-sn", "-dn"]);
        audio_codec_args(&mut a, p.codec, p.bitrate.0, p.channels, p.sample_rate);
        push(&mut a, &["-f", "mp4", &path(out)]);
    }
    a
}

fn video_codec_args(a: &mut Vec<String>, p: &VideoProfile, keyint: u32, gop: f64) {
    let k = keyint.to_string();
    let threads = ENCODER_THREADS.to_string();
    let rate = |a: &mut Vec<String>, zero_for_crf: bool| {
        match (p.bitrate, p.crf) {
            (Some(b), _) => push(a, &["-b:v", &b.ffmpeg()]),
            (None, Some(c)) => {
                push(a, &["-crf", &c.to_string()]);
                if zero_for_crf && p.maxrate.is_none() {
                    push(a, &["-b:v", "0"]);
                }
            }
            (None, None) => {}
        }
        if let Some(m) = p.maxrate {
            push(a, &["-maxrate", &m.ffmpeg()]);
        }
        if let Some(b) = p.bufsize {
            push(a, &["-bufsize", &b.ffmpeg()]);
        }
    };
    let force = format!("expr:gte(t,n_forced*{gop})");
    match p.codec {
        VideoCodec::H264 => {
            push(a, &["-c:v", "libx264", "-preset", p.preset.as_deref().unwrap_or("medium")]);
            if let Some(pr) = &p.profile {
                push(a, &["-profile:v", pr]);
            }
            if let Some(l) = &p.level {
                push(a, &["-level:v", l]);
            }
            rate(a, false);
            push(a, &["-g", &k, "-keyint_min", &k, "-sc_threshold", "0", "-force_key_frames", &force]);
            push(a, &["-x264-params", "open-gop=0"]);
        }
        VideoCodec::Hevc => {
            push(a, &["-c:v", "libx265", "-preset", p.preset.as_deref().unwrap_or("medium"), "-tag:v", "hvc1"]);
            if let Some(pr) = &p.profile {
                push(a, &["-profile:v", pr]);
            }
            rate(a, false);
            let mut xp =
                format!("keyint={keyint}:min-keyint={keyint}:scenecut=0:open-gop=0:log-level=error:pools={threads}");
            if let Some(l) = &p.level {
                xp += &format!(":level-idc={l}");
            }
            push(a, &["-force_key_frames", &force, "-x265-params", &xp]);
        }
        VideoCodec::Av1 => {
            push(a, &["-c:v", "libsvtav1", "-preset", p.preset.as_deref().unwrap_or("8")]);
            // VBR at `bitrate`; ffmpeg hands maxrate/bufsize to svt-av1 (max_bit_rate, buffer
            // size). crf with maxrate (capped CRF) is refused at load: it overshoots.
            rate(a, false);
            // lp=1: SVT-AV1's multi-threaded VBR gives different bytes from run to run (1.4).
            push(a, &["-g", &k, "-force_key_frames", &force, "-svtav1-params", "irefresh-type=2:scd=0:lp=1"]);
        }
        VideoCodec::Vp9 => {
            push(a, &["-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", p.preset.as_deref().unwrap_or("4")]);
            push(a, &["-row-mt", "1"]);
            rate(a, true);
            push(a, &["-g", &k, "-keyint_min", &k, "-force_key_frames", &force]);
        }
    }
    if p.codec != VideoCodec::Av1 {
        push(a, &["-threads", &threads]);
    }
}

fn audio_codec_args(a: &mut Vec<String>, codec: AudioCodec, bitrate: u64, channels: u32, rate: u32) {
    let enc = match codec {
        AudioCodec::Aac => "aac",
        AudioCodec::Opus => "libopus",
    };
    push(a, &["-c:a", enc, "-b:a", &bitrate.to_string(), "-ac", &channels.to_string(), "-ar", &rate.to_string()]);
}

/// Remux encoded renditions (video first, then audio) into HLS variant folders `%v`.
pub fn hls_args(inputs: &[(&str, &Path, bool)], o: &HlsOutput, dir: &Path) -> Vec<String> {
    let mut a = base_args();
    for (_, p, _) in inputs {
        push(&mut a, &["-i", &path(p)]);
    }
    let (mut vi, mut ai, mut map) = (0, 0, Vec::new());
    for (i, (name, _, is_audio)) in inputs.iter().enumerate() {
        if *is_audio {
            push(&mut a, &["-map", &format!("{i}:a:0")]);
            map.push(format!("a:{ai},name:{name}"));
            ai += 1;
        } else {
            push(&mut a, &["-map", &format!("{i}:v:0")]);
            map.push(format!("v:{vi},name:{name}"));
            vi += 1;
        }
    }
    let (ty, ext) = match o.segment_type {
        SegmentType::Fmp4 => ("fmp4", "m4s"),
        SegmentType::Ts => ("mpegts", "ts"),
    };
    // Keep the encoder's timeline as is: shifting it to avoid negative DTS puts an empty edit at
    // the start of each init segment, which players see as a hole before the first frame.
    push(&mut a, &["-c", "copy", "-avoid_negative_ts", "disabled"]);
    push(&mut a, &["-f", "hls", "-hls_time", &o.segment_seconds.to_string()]);
    push(&mut a, &["-hls_playlist_type", "vod", "-hls_flags", "independent_segments", "-hls_segment_type", ty]);
    if o.segment_type == SegmentType::Fmp4 {
        push(&mut a, &["-hls_fmp4_init_filename", "init.mp4"]);
    }
    push(&mut a, &["-hls_segment_filename", &path(&dir.join(format!("%v/seg_%05d.{ext}")))]);
    push(&mut a, &["-var_stream_map", &map.join(" "), &path(&dir.join("%v/index.m3u8"))]);
    a
}

/// What puts a video rendition in an adaptation set: its codec and its exact display aspect
/// ratio (players switch only within a set, and a set has one `par`). Audio is `None`.
pub type SetKey = Option<(VideoCodec, u32, u32)>;

pub fn set_key(codec: VideoCodec, (w, h): (u32, u32)) -> SetKey {
    let g = gcd(w, h).max(1);
    Some((codec, w / g, h / g))
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Remux encoded renditions into one MPD with CMAF segments; one adaptation set per video
/// codec and aspect ratio, one for audio.
pub fn dash_args(inputs: &[(&Path, SetKey)], o: &DashOutput, dir: &Path) -> Vec<String> {
    let mut a = base_args();
    for (p, _) in inputs {
        push(&mut a, &["-i", &path(p)]);
    }
    let mut sets: Vec<(SetKey, Vec<usize>)> = Vec::new();
    for (i, (_, codec)) in inputs.iter().enumerate() {
        push(&mut a, &["-map", &format!("{i}:{}:0", if codec.is_some() { "v" } else { "a" })]);
        match sets.iter_mut().find(|(c, _)| c == codec) {
            Some((_, v)) => v.push(i),
            None => sets.push((*codec, vec![i])),
        }
    }
    let sets: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(id, (_, streams))| {
            let s: Vec<String> = streams.iter().map(|x| x.to_string()).collect();
            format!("id={id},streams={}", s.join(","))
        })
        .collect();
    push(&mut a, &["-c", "copy", "-f", "dash", "-seg_duration", &o.segment_seconds.to_string()]);
    push(&mut a, &["-use_template", "1", "-use_timeline", "1", "-dash_segment_type", "mp4"]);
    push(&mut a, &["-init_seg_name", "init-$RepresentationID$.m4s"]);
    push(&mut a, &["-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.m4s"]);
    push(&mut a, &["-adaptation_sets", &sets.join(" "), &path(&dir.join("manifest.mpd"))]);
    a
}

/// Thumbnails `o.width` wide; an `anamorphic` source's height follows its displayed aspect
/// (`dar`, sample aspect applied), a square one's its stored size (`-2`, as always).
pub fn thumbnail_args(source: &Path, o: &ThumbnailsOutput, duration: f64, anamorphic: bool, dir: &Path) -> Vec<String> {
    let mut a = base_args();
    push(&mut a, &["-i", &path(source), "-map", "0:v:0"]);
    let rate = match (o.interval, o.count) {
        (Some(i), _) => format!("1/{i}"),
        (None, Some(c)) => format!("{}", c as f64 / duration.max(0.001)),
        _ => "1".into(),
    };
    let height = if anamorphic { "trunc(ow/dar/2)*2" } else { "-2" };
    push(&mut a, &["-vf", &format!("fps={rate},scale={}:{height},setsar=1", o.width)]);
    let most = o.count.unwrap_or(MAX_THUMBNAILS).min(MAX_THUMBNAILS);
    push(&mut a, &["-frames:v", &most.to_string()]);
    let ext = match o.format {
        ImageFormat::Jpg => {
            push(&mut a, &["-c:v", "mjpeg", "-q:v", "3"]);
            "jpg"
        }
        ImageFormat::Webp => {
            push(&mut a, &["-c:v", "libwebp", "-quality", "80"]);
            "webp"
        }
    };
    push(&mut a, &["-f", "image2", &path(&dir.join(format!("thumb_%05d.{ext}")))]);
    a
}

pub fn audio_only_file(o: &AudioOnlyOutput) -> &'static str {
    match o.format {
        AudioOnlyFormat::Aac => "audio.m4a",
        AudioOnlyFormat::Mp3 => "audio.mp3",
    }
}

pub fn audio_only_args(source: &Path, o: &AudioOnlyOutput, dir: &Path) -> Vec<String> {
    let mut a = base_args();
    push(&mut a, &["-i", &path(source), "-map", "0:a:0", "-vn", "-sn", "-dn"]);
    let out = path(&dir.join(audio_only_file(o)));
    match o.format {
        AudioOnlyFormat::Aac => {
            audio_codec_args(&mut a, AudioCodec::Aac, o.bitrate.0, 2, 48_000);
            push(&mut a, &["-f", "mp4", &out]);
        }
        AudioOnlyFormat::Mp3 => {
            push(&mut a, &["-c:a", "libmp3lame", "-b:a", &o.bitrate.0.to_string(), "-f", "mp3", &out]);
        }
    }
    a
}
