//! P5: first-time digest of a large file (default 2 GiB), vodbuild against `b3sum`.
//!
//! vodbuild hashes sources when it plans: `vodbuild plan` on a manifest whose one source is
//! the big file, with no state (so no stat cache), is a first-time digest. The same `plan` on
//! a 1 KiB source is timed too, and its wall time (start-up, manifest, tool fingerprints) is
//! subtracted pair by pair: throughput = bytes / (t_big − t_tiny). The raw figure (bytes /
//! t_big) is in the table as well. Both tools read the file from the page cache (warm-up).

use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::install::Tools;
use super::measure::{Sample, median, timed_ok};
use super::report::Report;
use super::{Config, media, say};

fn plan_fresh(tools: &Tools, ws: &Path, manifest: &str) -> Result<Sample, String> {
    let state = ws.join(".vodbuild");
    if state.exists() {
        std::fs::remove_dir_all(&state).map_err(|e| e.to_string())?;
    }
    let o = timed_ok("vodbuild plan", Command::new(&tools.vodbuild).args(["-q", "plan", manifest]).current_dir(ws))?;
    Ok(o.sample)
}

pub fn p5(cfg: &Config, tools: &Tools, rep: &mut Report) -> Result<(), String> {
    let b3sum = tools.b3sum.clone().ok_or("b3sum is not installed")?;
    let ws = cfg.work.join("p5");
    let big = ws.join("media/big.bin");
    std::fs::create_dir_all(ws.join("media")).map_err(|e| e.to_string())?;
    media::big_file(&big, cfg.hash_mib)?;
    std::fs::write(ws.join("media/tiny.bin"), vec![7u8; 1024]).map_err(|e| e.to_string())?;
    media::write(&ws.join("big.yaml"), &media::hash_manifest(tools, "media/big.bin"))?;
    media::write(&ws.join("tiny.yaml"), &media::hash_manifest(tools, "media/tiny.bin"))?;
    let bytes = (cfg.hash_mib << 20) as f64;

    let (mut vb, mut vt, mut bs) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..cfg.warmup + cfg.reps {
        let s_big = plan_fresh(tools, &ws, "big.yaml")?;
        let s_tiny = plan_fresh(tools, &ws, "tiny.yaml")?;
        let o = timed_ok("b3sum", Command::new(&b3sum).arg(&big))?;
        say(&format!(
            "P5 {}: vodbuild plan {:.3} s (tiny source {:.3} s), b3sum {:.3} s",
            if r < cfg.warmup { "warm-up" } else { "run" },
            s_big.wall,
            s_tiny.wall,
            o.sample.wall
        ));
        if r >= cfg.warmup {
            vb.push(s_big);
            vt.push(s_tiny);
            bs.push(o.sample);
        }
    }
    let gbps = |t: f64| bytes / 1e9 / t;
    let net: Vec<f64> = vb.iter().zip(&vt).map(|(b, t)| gbps((b.wall - t.wall).max(1e-6))).collect();
    let raw: Vec<f64> = vb.iter().map(|b| gbps(b.wall)).collect();
    let b3: Vec<f64> = bs.iter().map(|b| gbps(b.wall)).collect();
    let ratio = median(&net.iter().zip(&b3).map(|(v, b)| v / b).collect::<Vec<_>>());
    let size = format!("{} MiB", cfg.hash_mib);
    rep.row(
        "P5",
        &format!("`vodbuild plan`, first digest of {size}"),
        &vb,
        &format!("{:.2} GB/s net of start-up ({:.2} GB/s raw)", median(&net), median(&raw)),
    );
    rep.row("P5", "`vodbuild plan`, 1 KiB source (start-up)", &vt, "subtracted from the line above");
    rep.row("P5", &format!("b3sum {size}"), &bs, &format!("{:.2} GB/s", median(&b3)));
    rep.target("P5", "vodbuild digest / b3sum throughput", Some(ratio), 0.8, false, "×");
    rep.data(
        "P5",
        json!({"bytes": bytes, "vodbuild_gbps_net": median(&net), "vodbuild_gbps_raw": median(&raw),
        "b3sum_gbps": median(&b3), "ratio": ratio}),
    );
    Ok(())
}
