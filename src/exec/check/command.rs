//! A command step's folder: exactly its declared files, each a non-empty plain file; a `.vtt`
//! file must start with `WEBVTT` (after an optional byte-order mark).

use std::io::Read;

use super::Site;

pub fn files(site: &Site, declared: &[String]) -> Result<(), String> {
    for f in declared {
        let p = site.tmp.join(f);
        let meta = std::fs::symlink_metadata(&p)
            .map_err(|_| format!("{}: the step did not write this declared output", site.show(&p)))?;
        if !meta.is_file() {
            return Err(format!("{}: not a plain file", site.show(&p)));
        }
        if meta.len() == 0 {
            return Err(format!("{}: empty (0 bytes)", site.show(&p)));
        }
        if f.ends_with(".vtt") {
            let mut head = Vec::with_capacity(16);
            let file = std::fs::File::open(&p).map_err(|e| format!("{}: {e}", site.show(&p)))?;
            file.take(16).read_to_end(&mut head).map_err(|e| format!("{}: {e}", site.show(&p)))?;
            let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&head);
            if !head.starts_with(b"WEBVTT") {
                return Err(format!("{}: not WebVTT (no `WEBVTT` header)", site.show(&p)));
            }
        }
    }
    let undeclared = std::fs::read_dir(site.tmp)
        .map_err(|e| format!("{}: {e}", site.show(site.tmp)))?
        .flatten()
        .find(|e| !e.file_name().to_str().is_some_and(|n| declared.iter().any(|d| d == n)));
    match undeclared {
        Some(e) => Err(format!("{}: not a declared output", site.show(&e.path()))),
        None => Ok(()),
    }
}
