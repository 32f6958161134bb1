//! Media facts: ffprobe output, MP4 sample entries, and the HLS master playlist.

pub mod bcp47;
pub mod first_pts;
pub mod integrity;
pub mod master;
pub mod mp4;
pub mod mpd;
pub mod probe;
pub mod webvtt;
