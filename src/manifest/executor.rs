//! `executor:` — where the compute jobs run: this machine (`local`, the default) or a Slurm
//! cluster (`slurm`, see [`crate::exec::slurm`]). Nothing here enters a step key: it says
//! where a job runs, never what it makes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ErrCtx;
use super::yaml::Seg;
use crate::error::Result;
use crate::p;

/// Most Slurm jobs a run may keep running at once (`max_jobs`).
pub const MAX_JOBS: usize = 100_000;
/// Longest `result_wait`, in seconds.
pub const MAX_RESULT_WAIT: u64 = 3600;
/// Most `extra_args` entries.
pub const MAX_EXTRA_ARGS: usize = 64;
/// sbatch options vodbuild sets itself (long names, then their short letters): `extra_args`
/// may not name them (nor abbreviate them, as sbatch's option parser allows).
const OWNED_LONG: &[&str] = &[
    "job-name",
    "output",
    "error",
    "array",
    "export",
    "export-file",
    "get-user-env",
    "requeue",
    "no-requeue",
    "parsable",
    "wrap",
    "dependency",
    "chdir",
];
const OWNED_SHORT: &[char] = &['J', 'o', 'e', 'a', 'd', 'D'];
/// The step kinds whose jobs can go to Slurm (the others run on the coordinator).
pub const SLURM_KINDS: &[&str] = &["probe", "encode", "hls", "dash", "thumbnails", "audio_only"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    #[default]
    Local,
    Slurm,
}

impl ExecutorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Local => "local",
            ExecutorKind::Slurm => "slurm",
        }
    }
}

/// `executor: {kind, partition, account, qos, extra_args, max_jobs, result_wait, resources}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSpec {
    #[serde(default)]
    pub kind: ExecutorKind,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// More `sbatch` arguments, each one argument (`--constraint=avx2`).
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// The most of this run's jobs Slurm runs at once (arrays get the `%N` throttle).
    pub max_jobs: Option<usize>,
    /// Seconds a job may have ended (or left the queue) without its result file before it
    /// fails (default 10): a shared filesystem's attribute cache can show a node's file late.
    pub result_wait: Option<u64>,
    /// Per step kind (`encode`, `hls`, ...): what each of its jobs asks Slurm for.
    #[serde(default)]
    pub resources: BTreeMap<String, Resources>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// `--cpus-per-task`.
    pub cpus: Option<u32>,
    /// `--mem`, as Slurm writes it: `512M`, `2G`, or megabytes.
    #[serde(default, deserialize_with = "string_or_number")]
    #[schemars(with = "Option<super::schema::StringLike>")]
    pub mem: Option<String>,
    /// `--time`, as Slurm writes it: minutes, `MM:SS`, `HH:MM:SS`, `D-HH[:MM[:SS]]`.
    #[serde(default, deserialize_with = "string_or_number")]
    #[schemars(with = "Option<super::schema::StringLike>")]
    pub time: Option<String>,
}

/// The checks serde cannot express, each located at its field.
pub fn check(spec: &ExecutorSpec, ctx: &ErrCtx) -> Result<()> {
    let at = |f: &str| -> Vec<Seg> { p!["executor", f].to_vec() };
    let names = [("partition", &spec.partition), ("account", &spec.account), ("qos", &spec.qos)];
    for (field, value) in names {
        if let Some(v) = value
            && !plain_name(v)
        {
            return Err(ctx.err(
                &at(field),
                format!("`{v}` is not a Slurm name (letters, digits, `_`, `-`, `.`, `,`)"),
                None,
            ));
        }
    }
    if spec.extra_args.len() > MAX_EXTRA_ARGS {
        return Err(ctx.err(&at("extra_args"), format!("at most {MAX_EXTRA_ARGS} extra_args"), None));
    }
    for (i, a) in spec.extra_args.iter().enumerate() {
        if !a.starts_with('-') || a.contains('\n') || a.contains('\0') {
            let help = Some("each entry is one sbatch option, e.g. `--constraint=avx2`".into());
            return Err(ctx.err(&p!["executor", "extra_args", i], format!("`{a}` is not an sbatch option"), help));
        }
        if let Some(owned) = owned_option(a) {
            let help =
                Some("vodbuild sets the job name, logs, arrays, environment, requeueing and folder itself".into());
            let message = format!("`{a}` would override `{owned}`, which vodbuild sets");
            return Err(ctx.err(&p!["executor", "extra_args", i], message, help));
        }
    }
    if let Some(n) = spec.max_jobs
        && !(1..=MAX_JOBS).contains(&n)
    {
        return Err(ctx.err(&at("max_jobs"), format!("max_jobs {n} is out of range 1..{MAX_JOBS}"), None));
    }
    if let Some(n) = spec.result_wait
        && !(1..=MAX_RESULT_WAIT).contains(&n)
    {
        let message = format!("result_wait {n} is out of range 1..{MAX_RESULT_WAIT} (seconds)");
        return Err(ctx.err(&at("result_wait"), message, None));
    }
    for (kind, r) in &spec.resources {
        check_resources(kind, r, ctx)?;
    }
    Ok(())
}

/// The option vodbuild owns that sbatch argument `a` names (or abbreviates), if any.
fn owned_option(a: &str) -> Option<String> {
    if let Some(long) = a.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or("");
        let hit = OWNED_LONG.iter().find(|o| **o == name || (name.len() >= 2 && o.starts_with(name)));
        return hit.map(|o| format!("--{o}"));
    }
    let letter = a.strip_prefix('-')?.chars().next()?;
    OWNED_SHORT.contains(&letter).then(|| format!("-{letter}"))
}

fn check_resources(kind: &str, r: &Resources, ctx: &ErrCtx) -> Result<()> {
    if !SLURM_KINDS.contains(&kind) {
        let help = Some(format!("the kinds whose jobs run on Slurm: {}", SLURM_KINDS.join(", ")));
        return Err(ctx.err(
            &p!["executor", "resources", kind],
            format!("`{kind}` is not a step kind run on Slurm"),
            help,
        ));
    }
    let at = |f: &str| -> Vec<Seg> { p!["executor", "resources", kind, f].to_vec() };
    if let Some(c) = r.cpus
        && !(1..=4096).contains(&c)
    {
        return Err(ctx.err(&at("cpus"), format!("cpus {c} is out of range 1..4096"), None));
    }
    if let Some(m) = &r.mem
        && !valid_mem(m)
    {
        let help = Some("megabytes, or a number with K, M, G or T: `512M`, `4G`".into());
        return Err(ctx.err(&at("mem"), format!("`{m}` is not a Slurm memory size"), help));
    }
    if let Some(t) = &r.time
        && !valid_time(t)
    {
        let help = Some("minutes, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM` or `D-HH:MM:SS`".into());
        return Err(ctx.err(&at("time"), format!("`{t}` is not a Slurm time limit"), help));
    }
    Ok(())
}

/// `mem: 512` and `mem: "512"` agree.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    struct Text;
    impl serde::de::Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a size or a time such as 4G or 1:00:00")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(Text).map(Some)
}

fn plain_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.,".contains(&b))
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `512`, `512M`, `4G` (Slurm's `--mem`).
pub fn valid_mem(s: &str) -> bool {
    let n = s.strip_suffix(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']).unwrap_or(s);
    digits(n) && n.bytes().any(|b| b != b'0')
}

/// Slurm's `--time` forms.
pub fn valid_time(s: &str) -> bool {
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, s),
    };
    if days.is_some_and(|d| !digits(d)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    let ok = parts.iter().all(|p| digits(p));
    ok && match days {
        Some(_) => parts.len() <= 3,
        None => parts.len() <= 3 && (parts.len() > 1 || parts[0] != "0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::StepGraph;
    use crate::manifest::Manifest;

    const BASE: &str = "version: 1\nsources:\n  - path: a.mp4\n    id: a\nprofiles:\n  video:\n    \
                        v: {codec: h264, height: 90, bitrate: 100k}\noutputs:\n  hls: {renditions: [v], segment_seconds: 2}\n";

    fn load(extra: &str) -> crate::error::Result<Manifest> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.mp4"), b"x").unwrap();
        Manifest::from_text("p.yaml", &format!("{BASE}{extra}"), dir.path(), |_| None)
    }

    #[test]
    fn the_executor_never_enters_a_step() {
        let slurm = "executor:\n  kind: slurm\n  partition: p\n  max_jobs: 8\n  result_wait: 30\n  extra_args: [--constraint=x]\n  \
                     resources:\n    encode: {cpus: 2, mem: 2G, time: \"1:00:00\"}\n";
        let (a, b) = (load("").unwrap(), load(slurm).unwrap());
        assert_eq!(b.raw.executor.as_ref().map(|e| e.kind), Some(ExecutorKind::Slurm));
        let steps = |m: &Manifest| -> Vec<(String, serde_json::Value)> {
            let sg = StepGraph::build(m);
            sg.g.node_indices().map(|n| (sg.g[n].id.clone(), (*sg.g[n].params).clone())).collect()
        };
        assert_eq!(steps(&a), steps(&b));
    }

    #[test]
    fn bad_settings_are_located() {
        for (extra, field) in [
            ("executor: {kind: slurmm}\n", "executor.kind"),
            ("executor: {max_job: 3}\n", "executor.max_job"),
            ("executor: {max_jobs: 0}\n", "executor.max_jobs"),
            ("executor: {result_wait: 0}\n", "executor.result_wait"),
            ("executor: {result_wait: 86400}\n", "executor.result_wait"),
            ("executor: {partition: \"a b\"}\n", "executor.partition"),
            ("executor: {extra_args: [x]}\n", "executor.extra_args[0]"),
            ("executor: {extra_args: [--constraint=x, --export=ALL]}\n", "executor.extra_args[1]"),
            ("executor: {resources: {publish: {cpus: 1}}}\n", "executor.resources.publish"),
            ("executor: {resources: {encode: {mem: 4GB}}}\n", "executor.resources.encode.mem"),
            ("executor: {resources: {encode: {time: [1]}}}\n", "executor.resources.encode.time"),
        ] {
            let e = load(extra).expect_err(extra).to_string();
            assert!(e.contains(field), "{extra}: {e}");
        }
    }

    #[test]
    fn options_vodbuild_owns_are_refused() {
        for owned in [
            "--job-name=x",
            "-Jx",
            "--output=/tmp/o",
            "-o/tmp/o",
            "--error=e",
            "-e",
            "--array=0-9",
            "-a1",
            "--export=ALL",
            "--export",
            "--exp=ALL",
            "--requeue",
            "--parsable",
            "--wrap=ls",
            "--dependency=afterok:1",
            "-d",
            "--chdir=/",
            "--get-user-env",
        ] {
            assert!(owned_option(owned).is_some(), "{owned}");
        }
        for free in ["--constraint=avx2", "--exclusive", "--nodelist=n1", "--exclude=n2", "-C", "--gres=gpu:1", "-N1"] {
            assert_eq!(owned_option(free), None, "{free}");
        }
        let e = load("executor: {extra_args: [-Jmine]}\n").unwrap_err().to_string();
        assert!(e.contains("executor.extra_args[0]") && e.contains("would override `-J`"), "{e}");
    }

    #[test]
    fn slurm_sizes_and_times() {
        for ok in ["512", "512M", "4G", "1t"] {
            assert!(valid_mem(ok), "{ok}");
        }
        for bad in ["", "0", "4GB", "-1G", "1.5G", "G"] {
            assert!(!valid_mem(bad), "{bad}");
        }
        for ok in ["30", "10:00", "1:00:00", "2-0", "2-12:30", "1-00:00:00"] {
            assert!(valid_time(ok), "{ok}");
        }
        for bad in ["", "0", "1h", "1:2:3:4", "a-1", "1-", "-1"] {
            assert!(!valid_time(bad), "{bad}");
        }
    }
}
