//! P1 (cold build: vodbuild vs Shaka Streamer vs one ffmpeg command) and P3 (one change).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::install::Tools;
use super::measure::{Sample, pair_ratio, timed_ok};
use super::media;
use super::report::Report;
use super::{Config, say};

pub struct P1Result {
    /// vodbuild's workspace, left as the last cold build made it (P3 starts from here).
    pub ws: PathBuf,
    /// vodbuild's timed cold builds, in order (P3 pairs with them).
    pub cold: Vec<Sample>,
}

fn fresh_dir(p: &Path) -> Result<(), String> {
    if p.exists() {
        std::fs::remove_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// `vodbuild run --json` in `ws`; returns the sample and the parsed report.
pub fn vodbuild_run(tools: &Tools, ws: &Path, p3_kbps: Option<u32>) -> Result<(Sample, Value), String> {
    let mut c = Command::new(&tools.vodbuild);
    c.args(["-q", "run", "pipeline.yaml", "--json"]).current_dir(ws);
    c.env_remove("VODBUILD_FFMPEG").env_remove("VODBUILD_FFPROBE");
    match p3_kbps {
        Some(k) => c.env("BENCH_P3_KBPS", k.to_string()),
        None => c.env_remove("BENCH_P3_KBPS"),
    };
    let o = timed_ok("vodbuild run", &mut c)?;
    let v: Value = serde_json::from_str(&o.stdout).map_err(|e| format!("vodbuild run --json: {e}"))?;
    if v["failed"].as_u64() != Some(0) {
        return Err(format!("vodbuild run reported failures: {}", o.stdout.chars().take(2000).collect::<String>()));
    }
    Ok((o.sample, v))
}

fn executed_ids(v: &Value) -> Vec<String> {
    v["steps"]
        .as_array()
        .map(|a| {
            a.iter().filter(|s| s["status"] == "executed").filter_map(|s| s["id"].as_str().map(String::from)).collect()
        })
        .unwrap_or_default()
}

pub fn p1(cfg: &Config, tools: &Tools, rep: &mut Report) -> Result<P1Result, String> {
    let dir = cfg.work.join("p1");
    let source = media::p1_source(tools, &cfg.work.join("media"), cfg.p1_size, cfg.p1_seconds)?;
    let ws = dir.join("vodbuild");
    fresh_dir(&ws)?;
    std::fs::create_dir_all(ws.join("media")).map_err(|e| e.to_string())?;
    std::fs::hard_link(&source, ws.join("media/src.mp4"))
        .or_else(|_| std::fs::copy(&source, ws.join("media/src.mp4")).map(|_| ()))
        .map_err(|e| e.to_string())?;
    media::write(&ws.join("pipeline.yaml"), &media::p1_manifest(tools, cfg.p1_size, &cfg.preset))?;

    let shaka_dir = dir.join("shaka");
    fresh_dir(&shaka_dir)?;
    let (input, pipeline, bitrate) = media::shaka_configs(&source, cfg.p1_size);
    media::write(&shaka_dir.join("input.yaml"), &input)?;
    media::write(&shaka_dir.join("pipeline.yaml"), &pipeline)?;
    media::write(&shaka_dir.join("bitrate.yaml"), &bitrate)?;
    // Shaka Streamer hard-codes `-preset slow` for VOD: it takes part only with that preset.
    let with_shaka = cfg.preset == "slow";
    let ff_out = dir.join("ffmpeg/out");

    let run_vod = || -> Result<Sample, String> {
        fresh_dir(&ws.join("out"))?;
        fresh_dir(&ws.join(".vodbuild"))?;
        let (s, v) = vodbuild_run(tools, &ws, None)?;
        if v["executed"].as_u64().unwrap_or(0) == 0 {
            return Err("vodbuild cold build executed nothing".into());
        }
        Ok(s)
    };
    let run_shaka = || -> Result<Sample, String> {
        let out = shaka_dir.join("out");
        fresh_dir(&out)?;
        let mut c = Command::new(&tools.python);
        c.arg(&tools.shaka).args(["-i", "input.yaml", "-p", "pipeline.yaml", "-b", "bitrate.yaml", "-o", "out"]);
        let o = timed_ok("shaka-streamer", c.current_dir(&shaka_dir))?;
        for f in ["hls.m3u8", "dash.mpd"] {
            if !out.join(f).is_file() {
                return Err(format!("shaka-streamer made no {f}:\n{}{}", o.stdout, o.stderr));
            }
        }
        Ok(o.sample)
    };
    let run_ffmpeg = || -> Result<Sample, String> {
        fresh_dir(&ff_out)?;
        let mut c = media::ffmpeg(tools);
        c.args(media::ffmpeg_hls_args(&source, &ff_out, cfg.p1_size, &cfg.preset));
        let o = timed_ok("ffmpeg (single command)", &mut c)?;
        if !ff_out.join("master.m3u8").is_file() {
            return Err("the ffmpeg command made no master.m3u8".into());
        }
        Ok(o.sample)
    };

    let names = ["vodbuild", "shaka", "ffmpeg"];
    let mut got: [Vec<Sample>; 3] = Default::default();
    let rounds = cfg.encode_warmup + cfg.reps;
    for r in 0..rounds {
        let warm = r < cfg.encode_warmup;
        // Rotate the order each round so no contender always runs first.
        for k in 0..3 {
            let i = (r + k) % 3;
            if i == 1 && !with_shaka {
                continue;
            }
            let s = match i {
                0 => run_vod()?,
                1 => run_shaka()?,
                _ => run_ffmpeg()?,
            };
            let tag = if warm { "warm-up".to_string() } else { format!("{}/{}", r - cfg.encode_warmup + 1, cfg.reps) };
            say(&format!("P1 {tag} {}: {:.1} s wall, {:.1} s CPU", names[i], s.wall, s.cpu));
            if !warm {
                got[i].push(s);
            }
        }
    }
    let (vod, shaka, ff) = (&got[0], &got[1], &got[2]);
    let src = format!("{} s {}x{} source, preset {}", cfg.p1_seconds, cfg.p1_size.0, cfg.p1_size.1, cfg.preset);
    rep.row("P1", "vodbuild, cold (HLS + DASH)", vod, &src);
    if with_shaka {
        rep.row("P1", "Shaka Streamer 1.5.1 (HLS + DASH)", shaka, "ffmpeg → Shaka Packager");
    } else {
        rep.note("P1", "Shaka Streamer skipped: it hard-codes preset slow for VOD");
    }
    rep.row("P1", "one ffmpeg command (HLS only)", ff, "decodes once, 3 renditions + AAC");
    if with_shaka {
        rep.target("P1", "vodbuild / Shaka Streamer", Some(pair_ratio(vod, shaka)), 0.85, true, "×");
    }
    rep.target("P1", "vodbuild / one ffmpeg", Some(pair_ratio(vod, ff)), 1.0, true, "×");
    rep.data(
        "P1",
        json!({"source_seconds": cfg.p1_seconds, "size": [cfg.p1_size.0, cfg.p1_size.1],
        "preset": cfg.preset, "ffmpeg": tools.ffmpeg.display().to_string()}),
    );
    Ok(P1Result { ws, cold: vod.clone() })
}

pub fn p3(cfg: &Config, tools: &Tools, p1: &P1Result, rep: &mut Report) -> Result<(), String> {
    // Start from P1's last cold build at the base bitrate (a no-op run confirms it is fresh).
    let (_, v) = vodbuild_run(tools, &p1.ws, None)?;
    if v["executed"].as_u64() != Some(0) {
        say("P3: the P1 workspace was not fresh; it was brought up to date first");
    }
    let mut samples = Vec::new();
    let mut steps = Vec::new();
    for r in 0..cfg.encode_warmup + cfg.reps {
        // A new 720p bitrate each time (2010k, 2020k, ...): never a value already recorded.
        let kbps = 2000 + 10 * (r as u32 + 1);
        let (s, v) = vodbuild_run(tools, &p1.ws, Some(kbps))?;
        let ex = executed_ids(&v);
        if !ex.iter().any(|id| id.ends_with(":720p")) || ex.iter().any(|id| id.ends_with(":1080p")) {
            return Err(format!("P3 rebuild at 720p = {kbps}k executed {ex:?}"));
        }
        let warm = r < cfg.encode_warmup;
        say(&format!(
            "P3 {}: 720p → {kbps}k: {:.1} s wall ({})",
            if warm { "warm-up" } else { "run" },
            s.wall,
            ex.join(", ")
        ));
        if !warm {
            samples.push(s);
            steps = ex;
        }
    }
    rep.row("P3", "vodbuild, 720p bitrate changed", &samples, &format!("runs: {}", steps.join(", ")));
    let floor = p3_floor(cfg, tools, &p1.ws)?;
    rep.row("P3", "floor: one ffmpeg, source decode + 720p encode alone", &floor, "same x264 settings, no packaging");
    let ratio = pair_ratio(&samples, &p1.cold);
    rep.target("P3", "rebuild / cold build", Some(ratio), 0.35, true, "×");
    let floor_ratio = pair_ratio(&floor, &p1.cold);
    rep.note(
        "P3",
        &format!(
            "the floor (decode + that rung's encode) is {floor_ratio:.3}× the cold build; the rebuild is {:.2}× the floor",
            pair_ratio(&samples, &floor)
        ),
    );
    rep.data("P3", json!({"executed": steps, "rebuild_over_cold": ratio, "floor_over_cold": floor_ratio}));
    Ok(())
}

/// The physical floor of a one-rung change, timed alone: one ffmpeg that decodes the P1
/// source and encodes only the 720p rung (same size, bitrate, preset, closed 4 s GOPs,
/// no audio, no packaging), as many times as P3 rebuilt.
fn p3_floor(cfg: &Config, tools: &Tools, ws: &Path) -> Result<Vec<Sample>, String> {
    let (_, w, h, kbps) = media::ladder(cfg.p1_size)[1];
    let out = ws.join("p3-floor.mp4");
    let mut got = Vec::new();
    for r in 0..cfg.encode_warmup + cfg.reps {
        let mut c = media::ffmpeg(tools);
        c.arg("-i").arg(ws.join("media/src.mp4"));
        c.args(["-map", "0:v:0", "-vf", &format!("scale={w}:{h},setsar=1"), "-c:v", "libx264"]);
        c.args(["-preset", &cfg.preset, "-b:v", &format!("{}k", kbps + 10), "-pix_fmt", "yuv420p"]);
        c.args(["-g", "120", "-keyint_min", "120", "-sc_threshold", "0", "-flags", "+cgop", "-an"]);
        let s = timed_ok("ffmpeg (P3 floor)", c.arg(&out))?.sample;
        say(&format!("P3 floor {}: {:.1} s wall", if r < cfg.encode_warmup { "warm-up" } else { "run" }, s.wall));
        if r >= cfg.encode_warmup {
            got.push(s);
        }
    }
    let _ = std::fs::remove_file(&out);
    Ok(got)
}
