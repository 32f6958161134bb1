//! The two HTML pages: the index (every title with its packages, renditions, sizes, verify
//! results and links to play it) and the player page (one package in hls.js or
//! shaka-player, with rendition, audio and subtitle menus and the thumbnails as a
//! storyboard). Everything from the catalog is HTML-escaped; the player page gets its
//! settings as JSON in a `<script type="application/json">` block.

use std::fmt::Write;

use serde_json::json;

use super::catalog::{Package, Title, encode};

pub fn index(manifest: &str, titles: &[Title]) -> String {
    let mut body = String::new();
    let _ = write!(body, "<h1>vodbuild preview <small>{}</small></h1>", esc(manifest));
    if titles.is_empty() {
        body += "<p>No titles yet: run <code>vodbuild run</code> first.</p>";
    }
    for t in titles {
        title_section(&mut body, t);
    }
    page(&format!("vodbuild preview: {manifest}"), &body, "")
}

fn title_section(out: &mut String, t: &Title) {
    let _ = write!(out, "<section class=\"title\" data-id=\"{}\"><h2>{}", esc(&t.id), esc(&t.id));
    if let Some(d) = t.duration {
        let _ = write!(out, " <small>{d:.1} s</small>");
    }
    if t.source_removed {
        out.push_str(" <span class=\"badge\">source removed after publish</span>");
    }
    out.push_str("</h2>");
    if t.packages.is_empty() {
        out.push_str("<p>not built yet</p>");
    } else {
        out.push_str("<table><tr><th>package</th><th>renditions</th><th>size</th><th>verify</th><th>play</th></tr>");
        for p in &t.packages {
            package_row(out, &t.id, p);
        }
        out.push_str("</table>");
    }
    if !t.thumbnails.is_empty() {
        out.push_str("<div class=\"strip\">");
        for (url, time) in t.thumbnails.iter().take(12) {
            let _ =
                write!(out, "<img src=\"{}\" alt=\"{time:.1} s\" title=\"{time:.1} s\" loading=\"lazy\">", esc(url));
        }
        out.push_str("</div>");
    }
    out.push_str("</section>");
}

fn package_row(out: &mut String, id: &str, p: &Package) {
    let _ = write!(out, "<tr class=\"package\" data-kind=\"{}\"><td>{}</td><td><ul>", p.kind, p.kind.to_uppercase());
    for r in &p.renditions {
        let size = if r.bytes > 0 { format!(" · {}", bytes(r.bytes)) } else { String::new() };
        let res = r.resolution.as_deref().unwrap_or("audio");
        let _ = write!(out, "<li>{} · {} · {}{size}</li>", esc(res), kbps(r.bandwidth), esc(&r.codecs));
    }
    let _ = write!(out, "</ul></td><td>{}</td>", bytes(p.bytes));
    if p.problems.is_empty() {
        out.push_str("<td class=\"ok\">verify ok</td>");
    } else {
        let _ = write!(out, "<td class=\"bad\"><details><summary>{} problems</summary><ul>", p.problems.len());
        for pr in p.problems.iter().take(50) {
            let _ = write!(out, "<li>{}</li>", esc(&pr.to_string()));
        }
        out.push_str("</ul></details></td>");
    }
    out.push_str("<td>");
    let players: &[(&str, &str)] =
        if p.kind == "hls" { &[("hlsjs", "hls.js"), ("shaka", "shaka-player")] } else { &[("shaka", "shaka-player")] };
    for (key, name) in players {
        let href = format!("/play?id={}&package={}&player={key}", encode(id), p.kind);
        let _ = write!(out, "<a class=\"play\" data-player=\"{key}\" href=\"{}\">{name}</a> ", esc(&href));
    }
    out.push_str("</td></tr>");
}

/// The player page for one package of a title.
pub fn player(t: &Title, p: &Package, player: &str) -> String {
    let name = if player == "hlsjs" { "hls.js" } else { "shaka-player" };
    let script = if player == "hlsjs" { "hls.min.js" } else { "shaka-player.compiled.js" };
    let config = json!({"player": player, "url": p.url, "thumbnails": t.thumbnails, "duration": t.duration});
    // `</` cannot end the block early.
    let config = config.to_string().replace("</", "<\\/");
    let body = format!(
        "<p><a href=\"/\">all titles</a></p><h1>{} <small>{} in {name}</small></h1>\
         <video id=\"video\" controls muted autoplay playsinline></video>\
         <div class=\"controls\"><label>rendition <select id=\"rendition\"></select></label>\
         <label id=\"audio-label\" hidden>audio <select id=\"audio\"></select></label>\
         <label id=\"subtitles-label\" hidden>subtitles <select id=\"subtitles\"></select></label>\
         <span id=\"now\"></span> <span id=\"status\"></span></div>\
         <div id=\"storyboard\" class=\"strip\"></div>\
         <script type=\"application/json\" id=\"config\">{config}</script>",
        esc(&t.id),
        p.kind.to_uppercase()
    );
    let scripts = format!("<script src=\"/assets/{script}\"></script><script src=\"/assets/player.js\"></script>");
    page(&format!("{}: {name}", t.id), &body, &scripts)
}

fn page(title: &str, body: &str, scripts: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body>{body}{scripts}</body></html>",
        esc(title)
    )
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.0} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn kbps(bits: u64) -> String {
    format!("{} kb/s", bits.div_ceil(1000))
}
