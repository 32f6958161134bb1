//! Packager arguments for several audio renditions: DASH gets one AdaptationSet per language
//! and profile codec (ffmpeg: `-adaptation_sets` regrouped and `language` stream metadata,
//! which its dash muxer writes as `lang`; Shaka Packager: `lang=` on each audio stream, which
//! it groups by itself), and Shaka's HLS streams carry their `lang=` and `hls_name=`.
//! These adjust the arguments [`crate::argv`] builds, audio inputs coming after the video ones.

use super::Rendition;
use crate::manifest::model::Packager;

/// ffmpeg's dash arguments with the audio streams (inputs `first_audio..`) in one set per
/// language and codec, and each audio stream's language as metadata.
pub fn ffmpeg_sets(args: &mut Vec<String>, first_audio: usize, audio: &[(&Rendition, &str)]) {
    let Some(p) = args.iter().position(|a| a == "-adaptation_sets") else { return };
    let mut sets: Vec<Vec<usize>> = Vec::new();
    for set in args[p + 1].split(' ') {
        let streams = set.split_once("streams=").map_or("", |(_, s)| s);
        let video: Vec<usize> =
            streams.split(',').filter_map(|x| x.parse().ok()).filter(|i| *i < first_audio).collect();
        if !video.is_empty() {
            sets.push(video);
        }
    }
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for (i, (r, codec)) in audio.iter().enumerate() {
        let key = (r.track.language.as_str(), *codec);
        match keys.iter().position(|k| *k == key) {
            Some(k) => {
                let at = k + sets.len() - keys.len();
                sets[at].push(first_audio + i)
            }
            None => {
                keys.push(key);
                sets.push(vec![first_audio + i]);
            }
        }
    }
    let text: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(id, s)| {
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            format!("id={id},streams={}", s.join(","))
        })
        .collect();
    args[p + 1] = text.join(" ");
    let mut meta = Vec::new();
    for (i, (r, _)) in audio.iter().enumerate() {
        meta.push(format!("-metadata:s:{}", first_audio + i));
        meta.push(format!("language={}", r.track.language));
    }
    args.splice(p..p, meta);
}

/// Shaka Packager stream descriptors (`args[first_audio + i]` for audio rendition i) with
/// their language (`und` left out).
pub fn shaka_langs(args: &mut [String], first_audio: usize, audio: &[&Rendition]) {
    for (i, r) in audio.iter().enumerate() {
        // Shaka refuses `und` ("Unknown/invalid language"): no tag then.
        if r.track.language == "und" {
            continue;
        }
        if let Some(d) = args.get_mut(first_audio + i) {
            *d += &format!(",lang={}", r.track.language);
        }
    }
}

/// The audio renditions' arguments for `packager` (DASH).
pub fn dash_args(args: &mut Vec<String>, packager: Packager, first_audio: usize, audio: &[(&Rendition, &str)]) {
    match packager {
        Packager::Ffmpeg => ffmpeg_sets(args, first_audio, audio),
        Packager::Shaka => shaka_langs(args, first_audio, &audio.iter().map(|(r, _)| *r).collect::<Vec<_>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Track;

    fn r(name: &str, lang: &str) -> Rendition {
        let track = Track { index: 0, language: lang.into(), name: lang.into(), default: false, channels: 2 };
        Rendition { name: name.into(), profile: "aac".into(), track, channels: 2 }
    }

    #[test]
    fn one_set_per_language_and_codec() {
        let mut a: Vec<String> = ["-i", "x", "-adaptation_sets", "id=0,streams=0,1 id=1,streams=2,3,4,5", "out.mpd"]
            .map(String::from)
            .to_vec();
        let (en, fr, en51, de) = (r("aac", "en"), r("aac-a1", "fr"), r("surround", "en"), r("opus", "de"));
        ffmpeg_sets(&mut a, 2, &[(&en, "aac"), (&fr, "aac"), (&en51, "aac"), (&de, "opus")]);
        let sets = a.iter().position(|x| x == "-adaptation_sets").unwrap();
        assert_eq!(a[sets + 1], "id=0,streams=0,1 id=1,streams=2,4 id=2,streams=3 id=3,streams=5");
        assert_eq!(a[2..4], ["-metadata:s:2", "language=en"]);
        assert_eq!(a.last().unwrap(), "out.mpd");
    }
}
