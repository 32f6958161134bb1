//! Source facts from ffprobe, normalized. The probe step writes them to `probe.json`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VideoInfo {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Sample aspect ratio (1:1 for square pixels).
    pub sar: (u32, u32),
    /// Frame rate as a ratio.
    pub fps: (u32, u32),
    pub pix_fmt: String,
    /// Rotation a player applies (0, 90, 180 or 270), from the display matrix or the
    /// `rotate` tag. ffmpeg applies it before any filter, so renditions are upright.
    #[serde(default)]
    pub rotation: u32,
    /// `progressive`, `tt`, `bb`, `tb`, `bt` (interlaced), or empty when the stream does not say.
    #[serde(default)]
    pub field_order: String,
}

impl VideoInfo {
    /// Whether the frames are interlaced (and so deinterlaced before scaling).
    pub fn interlaced(&self) -> bool {
        matches!(self.field_order.as_str(), "tt" | "bb" | "tb" | "bt")
    }

    /// The picture as shown: rotation applied, sample aspect applied to the width.
    pub fn displayed_size(&self) -> (u32, u32) {
        let w = (self.width as f64 * self.sar.0 as f64 / self.sar.1.max(1) as f64).round() as u32;
        if self.rotation % 180 == 90 { (self.height, w) } else { (w, self.height) }
    }

    pub fn fps_f64(&self) -> f64 {
        self.fps.0 as f64 / self.fps.1.max(1) as f64
    }

    /// Display aspect ratio of the picture as shown (sample aspect and rotation applied).
    pub fn display_aspect(&self) -> f64 {
        let dar = (self.width as f64 * self.sar.0 as f64) / (self.height as f64 * self.sar.1 as f64);
        if self.rotation % 180 == 90 { 1.0 / dar } else { dar }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AudioInfo {
    pub codec: String,
    pub channels: u32,
    pub sample_rate: u32,
    /// ffprobe's channel layout (`stereo`, `5.1(side)`), empty when unknown.
    #[serde(default)]
    pub layout: String,
    /// The stream's `language` tag, when it has one.
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProbeInfo {
    /// Seconds of media: the container's declared duration, or the measured one when a
    /// damaged source was accepted (`source_checks: lenient`).
    pub duration: f64,
    pub format: String,
    pub video: Option<VideoInfo>,
    /// The first audio stream (what renditions use).
    pub audio: Option<AudioInfo>,
    /// Every audio stream, in order.
    #[serde(default)]
    pub audio_tracks: Vec<AudioInfo>,
    /// The duration read from the packets themselves (see [`crate::media::integrity`]).
    #[serde(default)]
    pub measured_duration: Option<f64>,
    /// What a lenient source check accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What `probe.json` holds: the normalized facts and ffprobe's own `format`/`streams`
/// (with the machine-specific file name removed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeFile {
    pub info: ProbeInfo,
    pub ffprobe: Value,
}

fn ratio(v: Option<&Value>) -> Option<(u32, u32)> {
    let s = v?.as_str()?;
    let (n, d) = s.split_once(['/', ':'])?;
    let (n, d): (u32, u32) = (n.parse().ok()?, d.parse().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}

/// Degrees (0, 90, 180, 270) from the display matrix side data or the older `rotate` tag, as
/// ffprobe reports them (`rotate=270` gives -90 → 270). Only whether it is a quarter turn
/// matters for geometry.
fn rotation(s: &Value) -> u32 {
    let matrix =
        s["side_data_list"].as_array().and_then(|l| l.iter().find_map(|d| d.get("rotation").and_then(Value::as_f64)));
    let tag = s["tags"]["rotate"].as_str().and_then(|r| r.trim().parse::<f64>().ok());
    let Some(deg) = matrix.or(tag) else { return 0 };
    // Nearest quarter turn: other angles are not rotations players apply.
    (((deg / 90.0).round() as i64).rem_euclid(4) * 90) as u32
}

/// Parses `ffprobe -print_format json -show_format -show_streams` output.
pub fn parse(json: &[u8]) -> Result<ProbeFile, String> {
    let mut v: Value = serde_json::from_slice(json).map_err(|e| format!("ffprobe printed invalid JSON: {e}"))?;
    if let Some(f) = v.get_mut("format").and_then(Value::as_object_mut) {
        f.remove("filename");
    }
    let streams = v.get("streams").and_then(Value::as_array).cloned().unwrap_or_default();
    let fmt = v.get("format").cloned().unwrap_or(Value::Null);
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"].as_i64() != Some(1))
        .map(|s| {
            let fps = ratio(s.get("avg_frame_rate")).or_else(|| ratio(s.get("r_frame_rate"))).unwrap_or((25, 1));
            VideoInfo {
                codec: s["codec_name"].as_str().unwrap_or("unknown").to_string(),
                width: s["width"].as_u64().unwrap_or(0) as u32,
                height: s["height"].as_u64().unwrap_or(0) as u32,
                sar: ratio(s.get("sample_aspect_ratio")).unwrap_or((1, 1)),
                fps,
                pix_fmt: s["pix_fmt"].as_str().unwrap_or("unknown").to_string(),
                rotation: rotation(s),
                field_order: s["field_order"].as_str().unwrap_or("").to_string(),
            }
        });
    if let Some(vi) = &video
        && (vi.width == 0 || vi.height == 0)
    {
        return Err("the video stream has no frame size".into());
    }
    let audio_tracks: Vec<AudioInfo> = streams
        .iter()
        .filter(|s| s["codec_type"] == "audio")
        .map(|s| AudioInfo {
            codec: s["codec_name"].as_str().unwrap_or("unknown").to_string(),
            channels: s["channels"].as_u64().unwrap_or(0) as u32,
            sample_rate: s["sample_rate"].as_str().and_then(|r| r.parse().ok()).unwrap_or(0),
            layout: s["channel_layout"].as_str().unwrap_or("").to_string(),
            language: s["tags"]["language"].as_str().filter(|l| *l != "und").map(String::from),
        })
        .collect();
    let audio = audio_tracks.first().cloned();
    let duration = fmt["duration"].as_str().and_then(|d| d.parse::<f64>().ok()).unwrap_or(0.0);
    if video.is_none() && audio.is_none() {
        return Err("no audio or video stream".into());
    }
    if duration <= 0.0 {
        return Err("the duration is unknown or zero".into());
    }
    let format = fmt["format_name"].as_str().unwrap_or("unknown").to_string();
    let info =
        ProbeInfo { duration, format, video, audio, audio_tracks, measured_duration: None, warnings: Vec::new() };
    let ffprobe = serde_json::json!({"format": fmt, "streams": streams});
    Ok(ProbeFile { info, ffprobe })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_strips_filename() {
        let j = br#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":360,
            "sample_aspect_ratio":"1:1","avg_frame_rate":"30/1","pix_fmt":"yuv420p"},
            {"codec_type":"audio","codec_name":"aac","channels":2,"sample_rate":"48000"}],
            "format":{"filename":"/home/x/a.mp4","duration":"6.0","format_name":"mov,mp4"}}"#;
        let p = parse(j).unwrap();
        assert_eq!(p.info.video.as_ref().unwrap().fps, (30, 1));
        assert_eq!(p.info.audio.as_ref().unwrap().sample_rate, 48000);
        assert!(p.ffprobe["format"].get("filename").is_none());
        assert!(parse(br#"{"streams":[],"format":{"duration":"1"}}"#).is_err());
    }
}
