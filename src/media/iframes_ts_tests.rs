//! Unit tests of [`super`] on hand-built transport streams ([`crate::media::ts::tests`]).

use super::*;
use crate::media::ts::tests::segment;

const P: u64 = PACKET as u64;

#[test]
fn ranges_run_from_the_key_frame_pes_to_the_next_video_pes() {
    // IDR (start + 2 packets, then audio), P frame, IDR (start + 1, then audio).
    let seg = segment(&[(900_000, true, 2), (903_600, false, 0), (907_200, true, 1)]);
    let mut last = None;
    let k = key_frames(&seg, &mut last).unwrap();
    assert_eq!(
        k,
        vec![
            KeyFrame { offset: 2 * P, length: 4 * P, pts: 900_000 },
            KeyFrame { offset: 8 * P, length: 3 * P, pts: 907_200 },
        ],
        "the trailing audio packet stays in the range up to the next video PES (or the end)"
    );
    let text = render(&[("a.ts".into(), k[0]), ("a.ts".into(), k[1])], 907_200 + 90_000);
    assert!(text.contains("#EXTINF:0.080,\n#EXT-X-BYTERANGE:752@376\na.ts\n"), "{text}");
    assert!(text.contains("#EXTINF:1.000,\n#EXT-X-BYTERANGE:564@1504\na.ts\n"), "{text}");
    assert!(text.contains("#EXT-X-I-FRAMES-ONLY\n") && !text.contains("EXT-X-MAP"), "{text}");
}

#[test]
fn pts_wraps_forward() {
    assert_eq!(unwrap(100, WRAP - 3000), WRAP + 100);
    assert_eq!(unwrap(5000, 4000), 5000);
    assert_eq!(unwrap(WRAP - 10, WRAP + 100), WRAP - 10, "a small step back is no wrap");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn writes_and_checks_a_playlist_and_names_bad_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "s0.ts", &segment(&[(900_000, true, 2), (903_600, false, 0), (907_200, true, 1)]));
    write(d, "s1.ts", &segment(&[(1_080_000, true, 0), (1_083_600, false, 1)]));
    let index = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\ns0.ts\n#EXTINF:1.0,\ns1.ts\n#EXT-X-ENDLIST\n";
    write(d, "index.m3u8", index.as_bytes());
    write_for(&d.join("index.m3u8")).unwrap();
    let text = std::fs::read_to_string(d.join("iframes.m3u8")).unwrap();
    assert!(text.contains("#EXTINF:0.080,\n#EXT-X-BYTERANGE:752@376\ns0.ts\n"), "{text}");
    assert!(text.contains("#EXTINF:1.920,\n#EXT-X-BYTERANGE:564@1504\ns0.ts\n"), "{text}");
    assert!(text.contains("#EXTINF:1.000,\n#EXT-X-BYTERANGE:376@376\ns1.ts\n"), "{text}");
    assert_eq!(check_playlist(&d.join("iframes.m3u8")).unwrap(), Vec::<String>::new());

    let bad = [
        ("564@1128", "does not start at a video PES holding a key frame"),
        ("188@376", "cuts the key frame's PES"),
        ("100@376", "whole 188-byte TS packets"),
        ("1128@1504", "not within the segment"),
        ("188@1316", "holds no start of a video PES"),
    ];
    for (range, why) in bad {
        let t = text.replacen("752@376", range, 1);
        write(d, "bad.m3u8", t.as_bytes());
        let problems = check_playlist(&d.join("bad.m3u8")).unwrap();
        assert!(problems.iter().any(|p| p.starts_with("s0.ts: ") && p.contains(why)), "{range}: {problems:?}");
    }
    // A segment whose first I-frame comes before its PAT and PMT.
    let s1 = segment(&[(1_080_000, true, 0)]);
    write(d, "s1.ts", &[&s1[2 * PACKET..], &s1[..2 * PACKET]].concat());
    write(d, "bad.m3u8", text.replace("376@376", "376@0").as_bytes());
    let problems = check_playlist(&d.join("bad.m3u8")).unwrap();
    assert_eq!(problems, vec!["s1.ts: no PAT and PMT before its first I-frame (byte 0)".to_string()]);
}
