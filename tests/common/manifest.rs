//! A fluent manifest builder: start from [`Manifest::small`] (the `SMALL` manifest),
//! [`Manifest::block`] (one value a line, for tests that point at lines) or [`Manifest::new`],
//! change what the test is about, and render with [`Manifest::yaml`]:
//!
//! ```ignore
//! ws.write_manifest(&Manifest::small().video_field("144p", "bitrate", "300k").without_audio().yaml());
//! ```
//!
//! A profile or output set again replaces the old one in place; outputs are written in the
//! order hls, dash, thumbnails, audio_only, metadata, then any other.

/// How profiles and outputs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// `144p: {codec: h264, height: 144}` (as in SMALL).
    Flow,
    /// `144p:` then `  codec: h264` and `  height: 144`, one value a line.
    Block,
}

type Fields = Vec<(String, String)>;

#[derive(Clone, Debug)]
enum Output {
    Map(Fields),
    Scalar(String),
}

#[derive(Clone, Debug)]
pub struct Manifest {
    style: Style,
    output_dir: Option<String>,
    tools: Fields,
    encoding: Fields,
    sources: Vec<Fields>,
    video: Vec<(String, Fields)>,
    audio: Vec<(String, Fields)>,
    outputs: Vec<(String, Output)>,
    /// Top-level sections written last, as given (`storage:`, `publish:`, `state:`).
    extra: String,
}

/// The order outputs are written in; others follow in the order they were added.
const OUTPUT_ORDER: [&str; 5] = ["hls", "dash", "thumbnails", "audio_only", "metadata"];

/// The values of an H.264 rung: `{codec: h264, height, bitrate, preset}`.
pub fn h264<'a>(height: &'a str, bitrate: &'a str, preset: &'a str) -> [(&'a str, &'a str); 4] {
    [("codec", "h264"), ("height", height), ("bitrate", bitrate), ("preset", preset)]
}

fn fields(kv: &[(&str, &str)]) -> Fields {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Sets `key` in `fields` (in place, or appended).
fn set_field(fields: &mut Fields, key: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some(kv) => kv.1 = value.to_string(),
        None => fields.push((key.to_string(), value.to_string())),
    }
}

/// Replaces the entry named `name` in place, or appends it.
fn upsert<T>(entries: &mut Vec<(String, T)>, name: &str, value: T) {
    match entries.iter_mut().find(|(n, _)| n == name) {
        Some(e) => e.1 = value,
        None => entries.push((name.to_string(), value)),
    }
}

fn entry_mut<'a, T>(entries: &'a mut [(String, T)], name: &str) -> &'a mut T {
    &mut entries.iter_mut().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no `{name}` in the manifest")).1
}

impl Default for Manifest {
    fn default() -> Self {
        Self::new()
    }
}

impl Manifest {
    /// `version: 1` and nothing else (flow style).
    pub fn new() -> Manifest {
        Manifest {
            style: Style::Flow,
            output_dir: None,
            tools: Vec::new(),
            encoding: Vec::new(),
            sources: Vec::new(),
            video: Vec::new(),
            audio: Vec::new(),
            outputs: Vec::new(),
            extra: String::new(),
        }
    }

    /// The `SMALL` manifest: `media/*.mp4`, two tiny H.264 rungs (144p upscales), AAC, HLS
    /// (fMP4) + DASH with 2 s segments, thumbnails every second, metadata.
    pub fn small() -> Manifest {
        let ladder = "[144p, 90p]";
        Manifest::new()
            .output_dir("out")
            .gop("2")
            .glob("media/*.mp4")
            .video("144p", &h264("144", "200k", "ultrafast"))
            .video_field("144p", "upscale", "true")
            .video("90p", &h264("90", "100k", "ultrafast"))
            .audio("aac64", &[("codec", "aac"), ("bitrate", "64k"), ("channels", "2"), ("sample_rate", "48000")])
            .hls(&[("renditions", ladder), ("audio", "aac64"), ("segment_seconds", "2"), ("segment_type", "fmp4")])
            .dash(&[("renditions", ladder), ("audio", "aac64"), ("segment_seconds", "2")])
            .output("thumbnails", &[("interval", "1"), ("width", "64"), ("format", "jpg")])
            .metadata()
    }

    /// Block style, one value a line: source `media/a.mp4` with id `clip`, a 720p H.264 rung
    /// (`codec`, `height`, `bitrate`), AAC 128k, HLS with 4 s segments, metadata.
    pub fn block() -> Manifest {
        let mut m = Manifest::new()
            .output_dir("out")
            .gop("2")
            .source("media/a.mp4", "clip")
            .video("720p", &[("codec", "h264"), ("height", "720"), ("bitrate", "3000k")])
            .audio("aac128", &[("codec", "aac"), ("bitrate", "128k")])
            .hls(&[("renditions", "[720p]"), ("audio", "aac128"), ("segment_seconds", "4")])
            .metadata();
        m.style = Style::Block;
        m
    }

    pub fn output_dir(mut self, dir: &str) -> Manifest {
        self.output_dir = Some(dir.to_string());
        self
    }

    /// `tools: {NAME: PATH}`.
    pub fn tool(mut self, name: &str, path: &str) -> Manifest {
        set_field(&mut self.tools, name, path);
        self
    }

    /// `encoding: {gop_seconds: SECONDS}`.
    pub fn gop(mut self, seconds: &str) -> Manifest {
        set_field(&mut self.encoding, "gop_seconds", seconds);
        self
    }

    /// Adds a source `{glob: "PATTERN"}`.
    pub fn glob(mut self, pattern: &str) -> Manifest {
        self.sources.push(fields(&[("glob", &format!("\"{pattern}\""))]));
        self
    }

    /// Adds a source `{path: PATH, id: ID}`.
    pub fn source(self, path: &str, id: &str) -> Manifest {
        self.source_with(&[("path", path), ("id", id)])
    }

    /// Adds a source with these fields (`object`, `backend`, …).
    pub fn source_with(mut self, kv: &[(&str, &str)]) -> Manifest {
        self.sources.push(fields(kv));
        self
    }

    /// Removes every source (to list others).
    pub fn without_sources(mut self) -> Manifest {
        self.sources.clear();
        self
    }

    /// Sets the video profile `name` (replacing one of that name).
    pub fn video(mut self, name: &str, kv: &[(&str, &str)]) -> Manifest {
        upsert(&mut self.video, name, fields(kv));
        self
    }

    /// Sets one value of the video profile `name`.
    pub fn video_field(mut self, name: &str, key: &str, value: &str) -> Manifest {
        set_field(entry_mut(&mut self.video, name), key, value);
        self
    }

    /// Makes `rungs` the only video profiles, and the `renditions` of every output that lists
    /// renditions.
    pub fn ladder(mut self, rungs: &[(&str, &[(&str, &str)])]) -> Manifest {
        self.video = rungs.iter().map(|(name, kv)| (name.to_string(), fields(kv))).collect();
        let names: Vec<&str> = rungs.iter().map(|(name, _)| *name).collect();
        let list = format!("[{}]", names.join(", "));
        for (_, out) in &mut self.outputs {
            if let Output::Map(f) = out
                && f.iter().any(|(k, _)| k == "renditions")
            {
                set_field(f, "renditions", &list);
            }
        }
        self
    }

    /// Removes the video profile `name`.
    pub fn without_video(mut self, name: &str) -> Manifest {
        self.video.retain(|(n, _)| n != name);
        self
    }

    /// Sets the audio profile `name` (replacing one of that name).
    pub fn audio(mut self, name: &str, kv: &[(&str, &str)]) -> Manifest {
        upsert(&mut self.audio, name, fields(kv));
        self
    }

    /// Makes `name` the only audio profile, and the `audio` of every output that has one.
    pub fn only_audio(mut self, name: &str, kv: &[(&str, &str)]) -> Manifest {
        self.audio = vec![(name.to_string(), fields(kv))];
        for (_, out) in &mut self.outputs {
            if let Output::Map(f) = out
                && f.iter().any(|(k, _)| k == "audio")
            {
                set_field(f, "audio", name);
            }
        }
        self
    }

    /// Removes the audio profiles and every output's `audio:`.
    pub fn without_audio(mut self) -> Manifest {
        self.audio.clear();
        for (_, out) in &mut self.outputs {
            if let Output::Map(f) = out {
                f.retain(|(k, _)| k != "audio");
            }
        }
        self
    }

    /// Sets the output `name` to a map (replacing one of that name).
    pub fn output(mut self, name: &str, kv: &[(&str, &str)]) -> Manifest {
        upsert(&mut self.outputs, name, Output::Map(fields(kv)));
        self
    }

    pub fn hls(self, kv: &[(&str, &str)]) -> Manifest {
        self.output("hls", kv)
    }

    pub fn dash(self, kv: &[(&str, &str)]) -> Manifest {
        self.output("dash", kv)
    }

    /// `metadata: true`.
    pub fn metadata(mut self) -> Manifest {
        upsert(&mut self.outputs, "metadata", Output::Scalar("true".into()));
        self
    }

    /// Sets one value of the output `name` (a map).
    pub fn output_field(mut self, name: &str, key: &str, value: &str) -> Manifest {
        match entry_mut(&mut self.outputs, name) {
            Output::Map(f) => set_field(f, key, value),
            Output::Scalar(_) => panic!("output `{name}` is not a map"),
        }
        self
    }

    /// Removes the output `name`.
    pub fn without_output(mut self, name: &str) -> Manifest {
        self.outputs.retain(|(n, _)| n != name);
        self
    }

    /// Appends top-level YAML written as given after everything else (`storage:` …).
    pub fn section(mut self, yaml: &str) -> Manifest {
        self.extra += yaml;
        self
    }

    /// The manifest's text.
    pub fn yaml(&self) -> String {
        let mut y = String::from("version: 1\n");
        if let Some(dir) = &self.output_dir {
            y += &format!("output_dir: {dir}\n");
        }
        self.map_section(&mut y, "tools", &self.tools);
        self.map_section(&mut y, "encoding", &self.encoding);
        if !self.sources.is_empty() {
            y += "sources:\n";
            for source in &self.sources {
                for (i, (k, v)) in source.iter().enumerate() {
                    y += &format!("{}{k}: {v}\n", if i == 0 { "  - " } else { "    " });
                }
            }
        }
        if !self.video.is_empty() || !self.audio.is_empty() {
            y += "profiles:\n";
            for (kind, profiles) in [("video", &self.video), ("audio", &self.audio)] {
                if !profiles.is_empty() {
                    y += &format!("  {kind}:\n");
                    profiles.iter().for_each(|(name, f)| y += &self.entry("    ", name, f));
                }
            }
        }
        if !self.outputs.is_empty() {
            y += "outputs:\n";
            let rank = |name: &str| OUTPUT_ORDER.iter().position(|o| *o == name).unwrap_or(OUTPUT_ORDER.len());
            let mut outputs: Vec<_> = self.outputs.iter().collect();
            outputs.sort_by_key(|(name, _)| rank(name));
            for (name, out) in outputs {
                y += &match out {
                    Output::Map(f) => self.entry("  ", name, f),
                    Output::Scalar(v) => format!("  {name}: {v}\n"),
                };
            }
        }
        y + &self.extra
    }

    /// `NAME:` then its values one a line (tools, encoding: always block style).
    fn map_section(&self, y: &mut String, name: &str, f: &Fields) {
        if !f.is_empty() {
            *y += &format!("{name}:\n");
            f.iter().for_each(|(k, v)| *y += &format!("  {k}: {v}\n"));
        }
    }

    /// One profile or output at `indent`, in this manifest's style.
    fn entry(&self, indent: &str, name: &str, f: &Fields) -> String {
        match self.style {
            Style::Flow => {
                let inner: Vec<String> = f.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{indent}{name}: {{{}}}\n", inner.join(", "))
            }
            Style::Block => {
                let lines: String = f.iter().map(|(k, v)| format!("{indent}  {k}: {v}\n")).collect();
                format!("{indent}{name}:\n{lines}")
            }
        }
    }
}

impl From<Manifest> for String {
    fn from(m: Manifest) -> String {
        m.yaml()
    }
}

#[test]
fn small_renders_the_small_manifest() {
    assert_eq!(Manifest::small().yaml(), super::SMALL, "SMALL and Manifest::small() must stay the same manifest");
}
