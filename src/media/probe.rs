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
}

impl VideoInfo {
    pub fn fps_f64(&self) -> f64 {
        self.fps.0 as f64 / self.fps.1.max(1) as f64
    }

    /// Display aspect ratio (width / height with the sample aspect applied).
    pub fn display_aspect(&self) -> f64 {
        (self.width as f64 * self.sar.0 as f64) / (self.height as f64 * self.sar.1 as f64)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AudioInfo {
    pub codec: String,
    pub channels: u32,
    pub sample_rate: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProbeInfo {
    pub duration: f64,
    pub format: String,
    pub video: Option<VideoInfo>,
    pub audio: Option<AudioInfo>,
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
            }
        });
    if let Some(vi) = &video
        && (vi.width == 0 || vi.height == 0)
    {
        return Err("the video stream has no frame size".into());
    }
    let audio = streams.iter().find(|s| s["codec_type"] == "audio").map(|s| AudioInfo {
        codec: s["codec_name"].as_str().unwrap_or("unknown").to_string(),
        channels: s["channels"].as_u64().unwrap_or(0) as u32,
        sample_rate: s["sample_rate"].as_str().and_then(|r| r.parse().ok()).unwrap_or(0),
    });
    let duration = fmt["duration"].as_str().and_then(|d| d.parse::<f64>().ok()).unwrap_or(0.0);
    if video.is_none() && audio.is_none() {
        return Err("no audio or video stream".into());
    }
    if duration <= 0.0 {
        return Err("the duration is unknown or zero".into());
    }
    let info =
        ProbeInfo { duration, format: fmt["format_name"].as_str().unwrap_or("unknown").to_string(), video, audio };
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
