//! Test media made with ffmpeg's lavfi sources, and the configuration files each contender
//! reads (vodbuild manifests, Shaka Streamer's input/pipeline/bitrate configs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::install::Tools;
use super::measure::timed_ok;
use super::say;

pub fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn ffmpeg(tools: &Tools) -> Command {
    let mut c = Command::new(&tools.ffmpeg);
    c.args(["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]);
    c
}

/// A noisy 30 fps `testsrc2` with a stereo 440 Hz tone, as H.264 (x264's default quality,
/// crf 23) and AAC: about 55 Mb/s at 1080p, since the noise is hard to compress.
/// Kept between runs (the name carries the parameters).
pub fn p1_source(tools: &Tools, dir: &Path, (w, h): (u32, u32), seconds: f64) -> Result<PathBuf, String> {
    let out = dir.join(format!("p1-src-{w}x{h}-{seconds}s.mp4"));
    if out.is_file() {
        return Ok(out);
    }
    say(&format!("making the P1 source: {seconds} s {w}x{h} testsrc2 + noise + sine"));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let tmp = dir.join("p1-src.tmp.mp4");
    let video = format!("testsrc2=size={w}x{h}:rate=30,noise=alls=12:allf=t");
    timed_ok(
        "ffmpeg (P1 source)",
        ffmpeg(tools)
            .args(["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
            .args(["-t", &seconds.to_string(), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"])
            .args(["-pix_fmt", "yuv420p", "-g", "60", "-c:a", "aac", "-b:a", "192k", "-ac", "2"])
            .args(["-movflags", "+faststart"])
            .arg(&tmp),
    )?;
    std::fs::rename(&tmp, &out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The P1 ladder, scaled to the source size: (name, width, height, kb/s).
pub fn ladder((w, h): (u32, u32)) -> Vec<(&'static str, u32, u32, u32)> {
    let even = |x: f64| ((x / 2.0).round() as u32 * 2).max(2);
    let (w, h) = (w as f64, h as f64);
    vec![
        ("1080p", even(w), even(h), 4000),
        ("720p", even(w * 2.0 / 3.0), even(h * 2.0 / 3.0), 2000),
        ("480p", even(w * 4.0 / 9.0), even(h * 4.0 / 9.0), 1000),
    ]
}

/// The `tools:` block every vodbuild manifest of the bench carries.
fn tools_yaml(tools: &Tools) -> String {
    format!("tools:\n  ffmpeg: {}\n  ffprobe: {}\n", tools.ffmpeg.display(), tools.ffprobe.display())
}

/// The P1 manifest; the 720p bitrate comes from `${BENCH_P3_KBPS}` (P3 changes it).
pub fn p1_manifest(tools: &Tools, size: (u32, u32), preset: &str) -> String {
    let mut s = format!("version: 1\noutput_dir: out\n{}encoding:\n  gop_seconds: 4\n", tools_yaml(tools));
    s += "sources:\n  - path: media/src.mp4\n    id: title\nprofiles:\n  video:\n";
    for (name, w, h, kbps) in ladder(size) {
        let rate = if name == "720p" { format!("${{BENCH_P3_KBPS:-{kbps}}}k") } else { format!("{kbps}k") };
        s += &format!("    {name}: {{codec: h264, width: {w}, height: {h}, bitrate: {rate}, preset: {preset}}}\n");
    }
    s += "  audio:\n    aac128: {codec: aac, bitrate: 128k, channels: 2, sample_rate: 48000}\noutputs:\n";
    s += "  hls: {renditions: [1080p, 720p, 480p], audio: aac128, segment_seconds: 4, segment_type: fmp4}\n";
    s += "  dash: {renditions: [1080p, 720p, 480p], audio: aac128, segment_seconds: 4}\n";
    s
}

/// Shaka Streamer's three config files: (input, pipeline, bitrate).
pub fn shaka_configs(source: &Path, size: (u32, u32)) -> (String, String, String) {
    let src = source.display();
    let input = format!("inputs:\n  - name: {src}\n    media_type: video\n  - name: {src}\n    media_type: audio\n");
    let pipeline = "streaming_mode: vod\nresolutions: [1080p, 720p, 480p]\nchannel_layouts: [stereo]\n\
        audio_codecs: [aac]\nvideo_codecs: [h264]\nmanifest_format: [dash, hls]\nsegment_size: 4\n"
        .to_string();
    let mut bitrate = "audio_channel_layouts:\n  stereo: {max_channels: 2, bitrates: {aac: 128k}}\n\
        video_resolutions:\n"
        .to_string();
    for (name, w, h, kbps) in ladder(size) {
        bitrate += &format!("  {name}: {{max_width: {w}, max_height: {h}, bitrates: {{h264: {kbps}k}}}}\n");
    }
    (input, pipeline, bitrate)
}

/// The hand-written baseline: one ffmpeg that decodes once and encodes the three renditions
/// plus AAC into HLS (fMP4, 4 s segments, 4 s closed GOPs, same preset and bitrates).
pub fn ffmpeg_hls_args(source: &Path, out: &Path, size: (u32, u32), preset: &str) -> Vec<String> {
    let l = ladder(size);
    let mut graph = "[0:v:0]split=3[s0][s1][s2]".to_string();
    for (i, (_, w, h, _)) in l.iter().enumerate() {
        graph += &format!(";[s{i}]scale={w}:{h},setsar=1[v{i}]");
    }
    let mut a: Vec<String> = ["-i"].iter().map(|s| s.to_string()).collect();
    a.push(source.display().to_string());
    a.extend(["-filter_complex".into(), graph]);
    for i in 0..3 {
        a.extend(["-map".into(), format!("[v{i}]")]);
    }
    a.extend(["-map", "0:a:0", "-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p"].map(String::from));
    a.extend(["-g", "120", "-keyint_min", "120", "-sc_threshold", "0", "-flags", "+cgop"].map(String::from));
    for (i, (_, _, _, kbps)) in l.iter().enumerate() {
        a.extend([format!("-b:v:{i}"), format!("{kbps}k")]);
    }
    a.extend(["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000", "-f", "hls"].map(String::from));
    a.extend(["-hls_time", "4", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4"].map(String::from));
    a.extend(["-master_pl_name", "master.m3u8"].map(String::from));
    a.extend(["-var_stream_map".into(), "v:0,agroup:a v:1,agroup:a v:2,agroup:a a:0,agroup:a".into()]);
    a.extend(["-hls_segment_filename".into(), out.join("%v/seg_%03d.m4s").display().to_string()]);
    a.push(out.join("%v/index.m3u8").display().to_string());
    a
}

/// `n` distinct tiny titles (2 s, 320x180, 15 fps, stereo AAC) in `dir`, named t00000.mp4 ...:
/// one encode, then stream copies that differ by a metadata tag (so every file has its own digest).
pub fn tiny_titles(tools: &Tools, base_dir: &Path, dir: &Path, n: usize) -> Result<(), String> {
    for d in [dir, base_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let base = base_dir.join("tiny-base-2s.mp4");
    if !base.is_file() {
        let tmp = base_dir.join("tiny-base.tmp.mp4");
        timed_ok(
            "ffmpeg (tiny source)",
            ffmpeg(tools)
                .args(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15", "-f", "lavfi"])
                .args(["-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264"])
                .args(["-preset", "veryfast", "-crf", "23", "-g", "30", "-pix_fmt", "yuv420p"])
                .args(["-c:a", "aac", "-b:a", "96k", "-ac", "2", "-movflags", "+faststart"])
                .arg(&tmp),
        )?;
        std::fs::rename(&tmp, &base).map_err(|e| e.to_string())?;
    }
    let missing: Vec<usize> = (0..n).filter(|i| !dir.join(format!("t{i:05}.mp4")).is_file()).collect();
    for chunk in missing.chunks(100) {
        let mut c = ffmpeg(tools);
        c.arg("-i").arg(&base);
        for i in chunk {
            c.args(["-map", "0", "-c", "copy", "-metadata", &format!("comment=bench title {i}")]);
            c.arg(dir.join(format!("t{i:05}.mp4")));
        }
        timed_ok("ffmpeg (catalog copies)", &mut c)?;
    }
    Ok(())
}

/// The P2 catalog manifest: every `media/*.mp4`, a two-rung ladder + AAC, HLS + DASH.
pub fn catalog_manifest(tools: &Tools) -> String {
    format!(
        "version: 1\noutput_dir: out\n{}encoding:\n  gop_seconds: 2\nsources:\n  - glob: \"media/*.mp4\"\n\
         profiles:\n  video:\n\
         \x20   180p: {{codec: h264, width: 320, height: 180, bitrate: 300k, preset: veryfast}}\n\
         \x20   90p: {{codec: h264, width: 160, height: 90, bitrate: 100k, preset: veryfast}}\n\
         \x20 audio:\n    aac64: {{codec: aac, bitrate: 64k, channels: 2, sample_rate: 48000}}\n\
         outputs:\n\
         \x20 hls: {{renditions: [180p, 90p], audio: aac64, segment_seconds: 2, segment_type: fmp4}}\n\
         \x20 dash: {{renditions: [180p, 90p], audio: aac64, segment_seconds: 2}}\n",
        tools_yaml(tools)
    )
}

/// The P5 manifest: one source file (its bytes need not be media: `plan` only hashes it).
pub fn hash_manifest(tools: &Tools, file: &str) -> String {
    catalog_manifest(tools).replace("  - glob: \"media/*.mp4\"\n", &format!("  - path: {file}\n    id: big\n"))
}

/// `mib` MiB of xorshift bytes (not compressible, not all zeros).
pub fn big_file(path: &Path, mib: u64) -> Result<(), String> {
    if path.metadata().map(|m| m.len() == mib << 20).unwrap_or(false) {
        return Ok(());
    }
    say(&format!("writing the P5 file: {mib} MiB"));
    let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        w.write_all(&buf).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}
