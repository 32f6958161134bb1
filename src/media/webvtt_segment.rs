//! WebVTT cut into HLS segments: one document per video segment window holding every cue
//! that overlaps it (a cue across a boundary is in each window it touches), each with an
//! `X-TIMESTAMP-MAP` tying cue time 0 to the video's first presentation time.
//!
//! A cue lasting hours over short segments is copied into every one of them, so the output
//! is bounded: at most [`MAX_SEGMENTED_BYTES`] of cues across a track's segments, counted
//! before anything is written. A real file stays far below it (the largest file read is
//! [`super::webvtt::MAX_BYTES`]; a cue lasting a whole 3-hour film over 1-s segments is about
//! 1 MiB). Each cue's windows are found by binary search, so the work is the output's size.

use super::webvtt::{Cue, format_time, write};

/// Most bytes of cues (timing line and text) written across one track's segments.
pub const MAX_SEGMENTED_BYTES: u64 = 64 * 1024 * 1024;

/// The cues overlapping each window `[start, end)` (milliseconds, in order and not
/// overlapping), one document per window, each with `X-TIMESTAMP-MAP` tying cue time 0 to
/// `mpegts` (90 kHz ticks). Refused when the copies would pass [`MAX_SEGMENTED_BYTES`].
pub fn segment(cues: &[Cue], windows: &[(u64, u64)], mpegts: u64) -> Result<Vec<String>, String> {
    let spans: Vec<std::ops::Range<usize>> = cues.iter().map(|c| span(c, windows)).collect();
    let mut total = 0u64;
    let mut worst: Option<(u64, &Cue, usize)> = None;
    for (c, r) in cues.iter().zip(&spans) {
        let bytes = size(c) * r.len() as u64;
        total += bytes;
        if worst.is_none_or(|(b, _, _)| bytes > b) {
            worst = Some((bytes, c, r.len()));
        }
    }
    if total > MAX_SEGMENTED_BYTES {
        let (_, c, n) = worst.expect("a cue");
        return Err(format!(
            "cut into {} segments, its cues would take {total} bytes, more than {MAX_SEGMENTED_BYTES} \
             (the cue {} --> {} alone is repeated in {n} segments); shorten its long cues",
            windows.len(),
            format_time(c.start),
            format_time(c.end)
        ));
    }
    let mut inside: Vec<Vec<Cue>> = vec![Vec::new(); windows.len()];
    for (c, r) in cues.iter().zip(spans) {
        for w in &mut inside[r] {
            w.push(c.clone());
        }
    }
    let map = vec![format!("X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000")];
    Ok(inside.iter().map(|w| write(w, &map)).collect())
}

/// The windows a cue overlaps: those starting before it ends and ending after it starts.
fn span(c: &Cue, windows: &[(u64, u64)]) -> std::ops::Range<usize> {
    let first = windows.partition_point(|&(_, to)| to <= c.start);
    let end = windows.partition_point(|&(from, _)| from < c.end);
    first..end.max(first)
}

/// A cue's bytes in a document: its timing line, settings and text lines.
fn size(c: &Cue) -> u64 {
    let text: usize = c.text.iter().map(|l| l.len() + 1).sum();
    (32 + c.settings.len() + text) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start: u64, end: u64) -> Cue {
        Cue { start, end, settings: String::new(), text: vec!["t".into()] }
    }

    #[test]
    fn segments_hold_overlapping_cues_and_the_map() {
        let cues = vec![cue(0, 1000), cue(1500, 2500), cue(4500, 5000), cue(2000, 2000)];
        let docs = segment(&cues, &[(0, 2000), (2000, 4000), (4000, 6000)], 126_000).unwrap();
        assert!(docs[0].starts_with("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n"));
        assert_eq!(docs[0].matches("-->").count(), 2);
        assert_eq!(docs[1].matches("-->").count(), 1, "{}", docs[1]);
        assert_eq!(docs[2].matches("-->").count(), 1);
        // The same as the plain overlap test, cue order kept, for every window.
        let windows: Vec<(u64, u64)> = (0..50).map(|k| (k * 700, (k + 1) * 700)).collect();
        let cues: Vec<Cue> = (0..200).map(|k| cue(k * 97 % 30_000, k * 97 % 30_000 + k * 13)).collect();
        let docs = segment(&cues, &windows, 0).unwrap();
        for (doc, &(from, to)) in docs.iter().zip(&windows) {
            let want: Vec<Cue> = cues.iter().filter(|c| c.start < to && c.end > from).cloned().collect();
            assert_eq!(*doc, write(&want, &["X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000".into()]));
        }
    }

    #[test]
    fn a_long_cue_over_many_segments_is_bounded() {
        let text: Vec<String> = (0..32).map(|_| "x".repeat(4096)).collect();
        let long = Cue { start: 0, end: 10 * 3_600_000, settings: String::new(), text };
        let windows: Vec<(u64, u64)> = (0..36_000).map(|k| (k * 1000, (k + 1) * 1000)).collect();
        let e = segment(std::slice::from_ref(&long), &windows, 0).unwrap_err();
        assert!(e.contains("00:00:00.000 --> 10:00:00.000") && e.contains("36000 segments"), "{e}");
        // A cue over a whole film with short text stays well below.
        let short = Cue { text: vec!["[music]".into()], ..long };
        let docs = segment(&[short], &windows, 0).unwrap();
        assert_eq!(docs.len(), 36_000);
    }
}
