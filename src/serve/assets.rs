//! The files the pages load: the players (hls.js and shaka-player, vendored minified builds
//! in `vendor/players/` embedded in the binary, or read from `serve --players DIR`), and the
//! page's own script and style sheet.

use std::path::Path;

use super::http::Response;

const HLS_JS: &[u8] = include_bytes!("../../vendor/players/hls.min.js");
const SHAKA: &[u8] = include_bytes!("../../vendor/players/shaka-player.compiled.js");
const PLAYER_JS: &[u8] = include_bytes!("player.js");
const STYLE: &[u8] = include_bytes!("style.css");

/// The player builds, by the name the pages load them under.
pub const PLAYERS: [&str; 2] = ["hls.min.js", "shaka-player.compiled.js"];

/// `/assets/NAME`; the two players come from `players` when it is given.
pub fn get(name: &str, players: Option<&Path>) -> Response {
    const JS: &str = "text/javascript; charset=utf-8";
    if let Some(dir) = players
        && PLAYERS.contains(&name)
    {
        return match std::fs::read(dir.join(name)) {
            Ok(bytes) => Response::bytes(200, JS, bytes),
            Err(e) => Response::text(404, &format!("{name} is not in the --players folder: {e}")),
        };
    }
    match name {
        "hls.min.js" => Response::bytes(200, JS, HLS_JS),
        "shaka-player.compiled.js" => Response::bytes(200, JS, SHAKA),
        "player.js" => Response::bytes(200, JS, PLAYER_JS),
        "style.css" => Response::bytes(200, "text/css; charset=utf-8", STYLE),
        _ => Response::text(404, "no such asset"),
    }
}

/// The Content-Type of a file served from the output folder.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "m3u8" => "application/vnd.apple.mpegurl",
        "mpd" => "application/dash+xml",
        "m4s" | "mp4" => "video/mp4",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "ts" => "video/mp2t",
        "vtt" => "text/vtt; charset=utf-8",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}
