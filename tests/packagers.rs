//! `packager: ffmpeg | shaka`: both give packages that verify clean, and switching the
//! packager re-runs packaging only, never an encode.

use crate::common;

use common::{Manifest, SMALL, Workspace, executed};
use vodbuild::exit_codes::SUCCESS;

#[test]
fn switching_to_shaka_repackages_only_and_verifies() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 4.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();

    let shaka =
        Manifest::small().output_field("hls", "packager", "shaka").output_field("dash", "packager", "shaka").yaml();
    assert_eq!(shaka.matches("packager: shaka").count(), 2, "both outputs switched");
    ws.write_manifest(&shaka);
    let run = ws.run_ok();
    let ran = executed(&run);
    assert!(ran.iter().all(|id| !id.starts_with("encode:")), "no encode may re-run: {ran:?}");
    for id in ["hls:media/a", "dash:media/a"] {
        assert!(ran.contains(id), "{id} must re-run: {ran:?}");
    }
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "{}", out.describe());
    // Shaka writes I-frame playlists; the master names them.
    let master = ws.read("out/media/a/hls/master.m3u8");
    assert!(master.contains("#EXT-X-I-FRAME-STREAM-INF:") && master.contains("iframes.m3u8"), "{master}");
    assert!(ws.path("out/media/a/hls/144p/iframes.m3u8").exists());

    // And back: packaging only again.
    ws.write_manifest(SMALL);
    let ran = executed(&ws.run_ok());
    assert!(ran.iter().all(|id| !id.starts_with("encode:")), "{ran:?}");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}
