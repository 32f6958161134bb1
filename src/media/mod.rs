//! Media facts: ffprobe output, MP4 sample entries, and the HLS master playlist.

pub mod bcp47;
pub mod first_pts;
pub mod iframes;
pub mod iframes_ts;
pub mod integrity;
pub mod loudness;
pub mod master;
pub mod mp4;
pub mod mpd;
pub mod probe;
pub mod storyboard;
pub mod storyboard_mpd;
pub mod ts;
pub mod webvtt;
pub mod webvtt_segment;
