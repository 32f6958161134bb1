//! HLS checks: master playlist against media playlists, segments and init segments.

use std::path::{Path, PathBuf};

use m3u8_rs::{MasterPlaylist, MediaPlaylist, MediaSegment, Playlist, VariantStream};

use super::{AVERAGE_TOLERANCE, Findings, check_alignment, duration_tolerance};
use crate::media::master::Rates;
use crate::media::mp4::{TrackFacts, track_facts};

/// What one media playlist turned out to be.
struct Media {
    rates: Rates,
    init: Option<TrackFacts>,
    /// Segment start times.
    starts: Vec<f64>,
}

/// A master playlist being checked: where it is and its audio renditions.
struct Master<'a> {
    path: &'a Path,
    dir: &'a Path,
    playlist: &'a MasterPlaylist,
    audio_groups: Vec<(String, Media)>,
}

pub fn check(master_path: &Path, source_duration: Option<f64>, f: &mut Findings) {
    let Some(master) = parse(master_path, f) else { return };
    let Playlist::MasterPlaylist(playlist) = master else {
        f.add(master_path, "playlist", "is a media playlist, expected a master playlist");
        return;
    };
    let dir = master_path.parent().unwrap_or(Path::new("."));
    let mut audio_groups: Vec<(String, Media)> = Vec::new();
    super::subtitles::check_hls(master_path, &playlist, source_duration, f);
    for alt in playlist.alternatives.iter().filter(|a| a.media_type != m3u8_rs::AlternativeMediaType::Subtitles) {
        if let Some(uri) = &alt.uri
            && let Some(m) = media(&dir.join(uri), source_duration, f)
        {
            audio_groups.push((alt.group_id.clone(), m));
        }
    }
    let master = Master { path: master_path, dir, playlist: &playlist, audio_groups };
    let boundaries: Vec<(String, Vec<f64>)> = playlist
        .variants
        .iter()
        .filter(|v| !v.is_i_frame && !crate::audio::verify::is_audio_only(&playlist, v))
        .filter_map(|v| check_variant(&master, v, source_duration, f))
        .collect();
    crate::audio::verify::check(master_path, &playlist, f);
    if playlist.variants.is_empty() {
        f.add(master_path, "EXT-X-STREAM-INF", "no variants");
    }
    if let Some((first, rest)) = boundaries.split_first() {
        for other in rest {
            check_alignment(f, master_path, "segment boundaries", first, other);
        }
    }
}

/// One variant against its media playlist and audio group; its segment start times.
fn check_variant(
    master: &Master,
    v: &VariantStream,
    source_duration: Option<f64>,
    f: &mut Findings,
) -> Option<(String, Vec<f64>)> {
    let path = master.dir.join(&v.uri);
    let m = media(&path, source_duration, f)?;
    let group: Vec<&Media> = match &v.audio {
        Some(g) => master.audio_groups.iter().filter(|(id, _)| id == g).map(|(_, m)| m).collect(),
        None => Vec::new(),
    };
    let audio = group.first().copied();
    if v.audio.is_some() && audio.is_none() {
        f.add(
            master.path,
            "AUDIO",
            format!("variant {} names audio group {:?} that has no playable rendition", v.uri, v.audio),
        );
    }
    check_rates(master.path, v, &m.rates, &group, f);
    if let Some(init) = &m.init {
        check_codecs(master.path, v, init, audio, f);
        check_resolution(master.path, v, init, f);
    } else if let Some(codecs) = &v.codecs {
        let alt = master.playlist.alternatives.iter().find(|a| Some(&a.group_id) == v.audio.as_ref());
        let audio_path = alt.and_then(|a| a.uri.as_ref()).map(|u| master.dir.join(u));
        super::ts::check_variant(master.path, &path, audio_path.as_deref(), codecs, f);
    } else {
        f.add(master.path, "CODECS", format!("variant {}: missing", v.uri));
    }
    Some((v.uri.clone(), m.starts))
}

/// BANDWIDTH covers the measured peak, AVERAGE-BANDWIDTH is close to the measured average, of
/// the video with the group's largest audio rendition (RFC 8216, 4.4.6.2: the largest sum over
/// any playable combination of renditions; a group may hold stereo and 5.1).
fn check_rates(master_path: &Path, v: &VariantStream, video: &Rates, audio: &[&Media], f: &mut Findings) {
    let peak = video.peak + audio.iter().map(|a| a.rates.peak).max().unwrap_or(0);
    let avg = video.average + audio.iter().map(|a| a.rates.average).max().unwrap_or(0);
    if v.bandwidth < peak {
        f.add(
            master_path,
            "BANDWIDTH",
            format!("variant {}: BANDWIDTH={} is below the measured peak segment bitrate {peak}", v.uri, v.bandwidth),
        );
    }
    match v.average_bandwidth {
        Some(a) if (a as f64 - avg as f64).abs() > avg as f64 * AVERAGE_TOLERANCE => f.add(
            master_path,
            "AVERAGE-BANDWIDTH",
            format!(
                "variant {}: AVERAGE-BANDWIDTH={a} differs from the measured average {avg} by more than {}%",
                v.uri,
                AVERAGE_TOLERANCE * 100.0
            ),
        ),
        None => f.add(master_path, "AVERAGE-BANDWIDTH", format!("variant {}: missing", v.uri)),
        _ => {}
    }
}

/// CODECS names exactly the codecs of the init segments (video and audio), in any order.
fn check_codecs(master_path: &Path, v: &VariantStream, init: &TrackFacts, audio: Option<&Media>, f: &mut Findings) {
    let mut actual = vec![init.codec.clone()];
    if let Some(a) = audio.and_then(|a| a.init.as_ref()) {
        actual.push(a.codec.clone());
    }
    let declared: Vec<String> = v
        .codecs
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    let mut want: Vec<String> = actual.iter().map(|c| c.to_ascii_lowercase()).collect();
    let mut have = declared.clone();
    want.sort();
    have.sort();
    if want != have {
        f.add(
            master_path,
            "CODECS",
            format!(
                "variant {}: CODECS=\"{}\" but the init segments say \"{}\"",
                v.uri,
                declared.join(","),
                actual.join(",")
            ),
        );
    }
}

/// RESOLUTION is the init segment's picture size.
fn check_resolution(master_path: &Path, v: &VariantStream, init: &TrackFacts, f: &mut Findings) {
    match &v.resolution {
        Some(r) if (r.width, r.height) != (init.width as u64, init.height as u64) => f.add(
            master_path,
            "RESOLUTION",
            format!(
                "variant {}: RESOLUTION={}x{} but the init segment is {}x{}",
                v.uri, r.width, r.height, init.width, init.height
            ),
        ),
        None => f.add(master_path, "RESOLUTION", format!("variant {}: missing", v.uri)),
        _ => {}
    }
}

fn parse(path: &Path, f: &mut Findings) -> Option<Playlist> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            f.add(path, "file", format!("cannot be read: {e}"));
            return None;
        }
    };
    match crate::media::master::parse_playlist(&bytes) {
        Ok(p) => Some(p),
        Err(e) => {
            f.add(path, "syntax", e);
            None
        }
    }
}

fn media(path: &Path, source_duration: Option<f64>, f: &mut Findings) -> Option<Media> {
    let pl: MediaPlaylist = match parse(path, f)? {
        Playlist::MediaPlaylist(p) => p,
        Playlist::MasterPlaylist(_) => {
            f.add(path, "playlist", "is a master playlist, expected a media playlist");
            return None;
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut init = None;
    let mut t = 0f64;
    let mut sized = Vec::new();
    let mut starts = Vec::new();
    let mut missing = false;
    for (i, seg) in pl.segments.iter().enumerate() {
        if let Some(map) = &seg.map
            && let Some(facts) = init_facts(&dir.join(&map.uri), f)
        {
            init = Some(facts);
        }
        let d = seg.duration as f64;
        if d.round() as u64 > pl.target_duration {
            f.add(
                path,
                "EXTINF",
                format!("segment {i} ({}) lasts {d:.3}s, above EXT-X-TARGETDURATION:{}", seg.uri, pl.target_duration),
            );
        }
        match segment_size(path, seg, f) {
            Some(s) => sized.push((d, s)),
            None => missing = true,
        }
        starts.push(t);
        t += d;
    }
    if pl.segments.is_empty() {
        f.add(path, "segments", "no segments");
    }
    if !pl.end_list {
        f.add(path, "EXT-X-ENDLIST", "missing: a VOD playlist must end with EXT-X-ENDLIST");
    }
    if let Some(src) = source_duration
        && (t - src).abs() > duration_tolerance(src)
    {
        f.add(path, "duration", format!("segments add up to {t:.3}s but the source lasts {src:.3}s"));
    }
    let rates = if missing { Rates::default() } else { Rates::of(sized).unwrap_or_default() };
    Some(Media { rates, init, starts })
}

/// The facts of an EXT-X-MAP init segment, or a finding.
fn init_facts(p: &Path, f: &mut Findings) -> Option<TrackFacts> {
    match track_facts(p) {
        Ok(facts) => return Some(facts),
        Err(e) if !p.exists() => f.add(p, "EXT-X-MAP", format!("init segment is missing ({e})")),
        Err(_) if super::is_empty(p) => f.add(p, "EXT-X-MAP", "init segment is empty (0 bytes)"),
        Err(e) => f.add(p, "EXT-X-MAP", format!("init segment is unreadable: {e}")),
    }
    None
}

/// A segment's size in bytes (its byte range, else its file), noting an empty one; `None`
/// (and a finding) when its file is missing.
fn segment_size(playlist: &Path, seg: &MediaSegment, f: &mut Findings) -> Option<f64> {
    let seg_path: PathBuf = playlist.parent().unwrap_or(Path::new(".")).join(&seg.uri);
    let size = match &seg.byte_range {
        Some(r) => Some(r.length as f64),
        None => std::fs::metadata(&seg_path).ok().map(|m| m.len() as f64),
    };
    match size {
        Some(0.0) => f.add(&seg_path, "segment", "is empty (0 bytes)"),
        Some(_) => {}
        None => f.add(
            &seg_path,
            "segment",
            format!("named by {} but missing", playlist.file_name().unwrap_or_default().to_string_lossy()),
        ),
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(peak: u64, average: u64) -> Media {
        Media { rates: Rates { peak, average }, init: None, starts: Vec::new() }
    }

    fn problems(bandwidth: u64, average: u64, group: &[&Media]) -> Vec<String> {
        let v = VariantStream {
            uri: "v/index.m3u8".into(),
            bandwidth,
            average_bandwidth: Some(average),
            ..Default::default()
        };
        let mut f = Findings::new(Path::new("/"));
        check_rates(Path::new("/master.m3u8"), &v, &Rates { peak: 500_000, average: 400_000 }, group, &mut f);
        f.problems.iter().map(|p| p.attribute.clone()).collect()
    }

    /// Stereo (default, listed first) and 5.1 in one group: the variant carries the 5.1 rates.
    #[test]
    fn rates_are_checked_with_the_largest_audio_rendition_of_the_group() {
        let (stereo, surround) = (audio(70_000, 64_000), audio(400_000, 384_000));
        assert!(problems(900_000, 784_000, &[&stereo, &surround]).is_empty());
        let low = problems(570_000, 464_000, &[&stereo, &surround]);
        assert_eq!(low, ["BANDWIDTH", "AVERAGE-BANDWIDTH"], "stereo's sum is not the largest");
        assert!(problems(500_000, 400_000, &[]).is_empty(), "no audio group");
    }
}
