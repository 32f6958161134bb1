//! HLS subtitles, after the packager and `master.m3u8` ([`super::hls::write_master`]): each
//! converted track cut into WebVTT segments on the first video variant's segment windows
//! (`subs/ID/NNNNN.vtt`, each with an `X-TIMESTAMP-MAP` tying cue time 0 to the video's
//! first presentation time), a media playlist per track (`subs/ID/index.m3u8`), one
//! `EXT-X-MEDIA:TYPE=SUBTITLES` per track in the master's group [`GROUP`], and
//! `SUBTITLES="subs"` on every variant. Works the same on ffmpeg's and Shaka Packager's output.
//! With AES-128 the first video segment is ciphertext: it is decrypted in memory with the
//! job's key ([`crate::crypt::aes_segment`]) before its PTS is read.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use m3u8_rs::{ByteRange, MediaPlaylist};

use crate::crypt::job::CryptJob;
use crate::crypt::keys::Secret;
use crate::job::paths::resolve;
use crate::job::subtitle::PackagedSubtitle;
use crate::media::{first_pts, webvtt, webvtt_segment};

/// The master's SUBTITLES group id.
pub const GROUP: &str = "subs";
/// Largest video segment (or init segment) read to find the first presentation time.
const MAX_READ: u64 = 512 * 1024 * 1024;

/// `crypt`: the package's encryption, whose key decrypts an AES-128 first segment.
pub fn add(dir: &Path, subs: &[PackagedSubtitle], root: &Path, crypt: Option<&CryptJob>) -> Result<(), String> {
    if subs.is_empty() {
        return Ok(());
    }
    let master_path = dir.join(crate::layout::MASTER);
    let master =
        std::fs::read_to_string(&master_path).map_err(|e| format!("reading {}: {e}", master_path.display()))?;
    let uri = first_variant(&master).ok_or_else(|| format!("{}: no variant", master_path.display()))?;
    let playlist_path = dir.join(&uri);
    let playlist = read_media(&playlist_path)?;
    let windows = windows(&playlist);
    let key = crypt.map(|c| c.load().map(|(key, _)| key)).transpose()?;
    let start = first_pts(&playlist, playlist_path.parent().unwrap_or(dir), key.as_ref())?;
    let mpegts = (start * 90_000.0).round().max(0.0) as u64;
    for s in subs {
        write_track(dir, s, root, &windows, mpegts)?;
    }
    let text = with_group(&master, subs);
    std::fs::write(&master_path, text).map_err(|e| format!("writing {}: {e}", master_path.display()))
}

/// The URI of the master's first `EXT-X-STREAM-INF`.
fn first_variant(master: &str) -> Option<String> {
    let mut lines = master.lines().skip_while(|l| !l.starts_with("#EXT-X-STREAM-INF:"));
    lines.next()?;
    lines.find(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|l| l.trim().to_string())
}

fn read_media(path: &Path) -> Result<MediaPlaylist, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    m3u8_rs::parse_media_playlist_res(&bytes).map_err(|_| format!("{}: not a media playlist", path.display()))
}

/// Each segment's [start, end) in milliseconds.
fn windows(p: &MediaPlaylist) -> Vec<(u64, u64)> {
    let mut at = 0.0f64;
    p.segments
        .iter()
        .map(|s| {
            let from = at;
            at += s.duration as f64;
            ((from * 1000.0).round() as u64, (at * 1000.0).round() as u64)
        })
        .collect()
}

/// A file, or the byte range of it a playlist names.
fn read_part(path: &Path, range: Option<&ByteRange>) -> Result<Vec<u8>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let (offset, len) = match range {
        Some(r) => (r.offset.unwrap_or(0), r.length),
        None => (0, f.metadata().map(|m| m.len()).unwrap_or(0)),
    };
    if len > MAX_READ {
        return Err(format!("{}: segment larger than {MAX_READ} bytes", path.display()));
    }
    let mut buf = vec![0u8; len as usize];
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(buf)
}

/// The video's first presentation time in seconds (fMP4 with `EXT-X-MAP`, or MPEG-TS; an
/// AES-128 segment decrypted with `key` first).
fn first_pts(p: &MediaPlaylist, base: &Path, key: Option<&Secret>) -> Result<f64, String> {
    let seg = p.segments.first().ok_or("the video playlist has no segment")?;
    let data = read_part(&base.join(&seg.uri), seg.byte_range.as_ref())?;
    let data =
        clear(seg, p.media_sequence, data, key).map_err(|e| format!("{}: {e}", base.join(&seg.uri).display()))?;
    let found = match &seg.map {
        Some(map) => {
            let init = read_part(&base.join(&map.uri), map.byte_range.as_ref())?;
            first_pts::fmp4_seconds(&init, &data)
        }
        None => first_pts::ts_seconds(&data),
    };
    found.ok_or_else(|| format!("{}: no presentation time in the first segment", base.join(&seg.uri).display()))
}

/// A segment's readable bytes: decrypted when its `EXT-X-KEY` is AES-128 (whole-segment);
/// as read otherwise (clear, or SAMPLE-AES / CENC whose boxes and timestamps are clear).
fn clear(seg: &m3u8_rs::MediaSegment, sequence: u64, data: Vec<u8>, key: Option<&Secret>) -> Result<Vec<u8>, String> {
    let Some(tag) = seg.key.as_ref().filter(|k| k.method == m3u8_rs::KeyMethod::AES128) else { return Ok(data) };
    let key = key.ok_or("an AES-128 segment, and the job has no key for it")?;
    let iv = crate::crypt::aes_segment::iv_for(tag.iv.as_deref(), sequence)?;
    crate::crypt::aes_segment::decrypt(key, &iv, data)
}

/// A track's folder in the package: `subs/ID`.
pub fn track_dir(id: &str) -> PathBuf {
    Path::new(GROUP).join(id)
}

fn write_track(
    dir: &Path,
    s: &PackagedSubtitle,
    root: &Path,
    windows: &[(u64, u64)],
    mpegts: u64,
) -> Result<(), String> {
    let vtt = resolve(root, &s.vtt);
    let bytes = std::fs::read(&vtt).map_err(|e| format!("reading {}: {e}", vtt.display()))?;
    let cues = webvtt::parse(&bytes, webvtt::Format::Vtt).map_err(|e| e.located(&vtt.display().to_string()))?;
    let out = dir.join(track_dir(&s.id));
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let docs = webvtt_segment::segment(&cues, windows, mpegts)
        .map_err(|e| format!("subtitle track `{}` ({}): {e}", s.id, s.shown))?;
    let longest = windows.iter().map(|(a, b)| b - a).max().unwrap_or(0);
    let mut list = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n",
        longest.div_ceil(1000).max(1)
    );
    for (k, (doc, (a, b))) in docs.iter().zip(windows).enumerate() {
        let name = format!("{k:05}.vtt");
        std::fs::write(out.join(&name), doc).map_err(|e| format!("writing {}: {e}", out.join(&name).display()))?;
        let _ = write!(list, "#EXTINF:{:.3},\n{name}\n", (b - a) as f64 / 1000.0);
    }
    list.push_str("#EXT-X-ENDLIST\n");
    let index = out.join("index.m3u8");
    std::fs::write(&index, list).map_err(|e| format!("writing {}: {e}", index.display()))
}

/// A quoted-string attribute value: no `"`, CR or LF (RFC 8216 §4.2).
fn quoted(s: &str) -> String {
    s.chars().map(|c| if c == '"' || c.is_control() { '\'' } else { c }).collect()
}

/// The master with the SUBTITLES group before the first variant, every variant in it.
fn with_group(master: &str, subs: &[PackagedSubtitle]) -> String {
    let yes = |b: bool| if b { "YES" } else { "NO" };
    let mut group = String::new();
    for s in subs {
        let _ = writeln!(
            group,
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"{GROUP}\",NAME=\"{}\",LANGUAGE=\"{}\",DEFAULT={},AUTOSELECT=YES,FORCED={},URI=\"{}/index.m3u8\"",
            quoted(&s.name),
            quoted(&s.lang),
            yes(s.default),
            yes(s.forced),
            track_dir(&s.id).display()
        );
    }
    let mut out = String::new();
    let mut placed = false;
    for line in master.lines() {
        if line.starts_with("#EXT-X-STREAM-INF:") {
            if !placed {
                out.push_str(&group);
                placed = true;
            }
            let _ = writeln!(out, "{line},SUBTITLES=\"{GROUP}\"");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_goes_before_the_variants_and_each_variant_joins_it() {
        let master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=1\n240p/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\n360p/index.m3u8\n";
        let s = |id: &str, default| PackagedSubtitle {
            id: id.into(),
            lang: id.into(),
            name: format!("N\"{id}"),
            default,
            forced: false,
            vtt: PathBuf::new(),
            shown: String::new(),
        };
        let out = with_group(master, &[s("en", true), s("fr", false)]);
        assert_eq!(first_variant(master).as_deref(), Some("240p/index.m3u8"));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[2].starts_with("#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"N'en\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI=\"subs/en/index.m3u8\""), "{out}");
        assert!(lines[3].contains("DEFAULT=NO"));
        assert_eq!(out.matches(",SUBTITLES=\"subs\"").count(), 2);
    }

    #[test]
    fn a_track_too_large_to_segment_names_its_file_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (0..32).map(|_| format!("{}\n", "x".repeat(4096))).collect();
        let vtt = dir.path().join("en.vtt");
        std::fs::write(&vtt, format!("WEBVTT\n\n00:00:00.000 --> 10:00:00.000\n{text}")).unwrap();
        let track = PackagedSubtitle {
            id: "en".into(),
            lang: "en".into(),
            name: "en".into(),
            default: false,
            forced: false,
            vtt,
            shown: "media/a.en.srt".into(),
        };
        let windows: Vec<(u64, u64)> = (0..36_000).map(|k| (k * 1000, (k + 1) * 1000)).collect();
        let e = write_track(dir.path(), &track, dir.path(), &windows, 0).unwrap_err();
        assert!(e.starts_with("subtitle track `en` (media/a.en.srt): cut into 36000 segments"), "{e}");
        assert!(!dir.path().join("subs/en/00000.vtt").exists() && !dir.path().join("subs/en/index.m3u8").exists());
    }
}
