//! `vodbuild clean`: removes the files this manifest's state says vodbuild wrote in the
//! output folder (and vodbuild's temporaries beside them), then the manifest's workspace.
//! Nothing else in the output folder is touched, and nothing is removed through a symlink
//! leading out of the output folder (see [`crate::confine`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::confine;
use crate::dag::StepGraph;
use crate::error::{Error, IoContext, Result};
use crate::exec::place;
use crate::layout::output_path;
use crate::manifest::Manifest;
use crate::say;
use crate::state::{State, lock::WorkspaceLock};

pub fn clean(m: &Manifest, keep_outputs: bool) -> Result<()> {
    let lock = WorkspaceLock::acquire(&m.state_dir())?;
    let mut removed = 0usize;
    let mut refused = Vec::new();
    if !keep_outputs {
        match State::load(&m.state_dir()) {
            Ok(state) => removed = remove_outputs(m, &state, &mut refused),
            Err(e) => say!("vodbuild: {e}; the outputs are left in place"),
        }
    }
    if !refused.is_empty() {
        for r in &refused {
            say!("error: {r}");
        }
        say!("removed {removed} files; the state is kept, so that a later `clean` can finish");
        return Err(Error::CleanIncomplete { refused: refused.len() });
    }
    drop(lock);
    let dir = m.state_dir();
    if dir.symlink_metadata().is_ok() {
        // Removes a symlinked workspace's link, never what it points to.
        std::fs::remove_dir_all(&dir).ctx(|| format!("removing {}", dir.display()))?;
    }
    if let Some(parent) = dir.parent() {
        // `.vodbuild/` itself, once no manifest has a workspace there.
        let _ = std::fs::remove_dir(parent);
    }
    say!("removed {removed} output files and {}", dir.display());
    Ok(())
}

/// Removes every recorded output file of the manifest's local steps in the output folder;
/// returns how many were removed, and notes in `refused` each path that is not confined.
fn remove_outputs(m: &Manifest, state: &State, refused: &mut Vec<String>) -> usize {
    let sg = StepGraph::build(m);
    let root = m.output_dir.as_path();
    let mut removed = 0;
    let mut dirs = BTreeSet::new();
    for n in sg.g.node_indices() {
        let step = &sg.g[n];
        let (Some(loc), Some(rec)) = (step.output.local(), state.data.steps.get(&step.id)) else { continue };
        if !loc.starts_with(root) {
            continue; // intermediates: the workspace goes as a whole
        }
        if let Err(e) = confine::check_delete(root, loc) {
            refused.push(e);
            continue;
        }
        place::remove_leftovers(loc);
        for o in rec.outputs.iter() {
            let file = output_path(&step.output, &o.path);
            if let Err(e) = confine::check_delete(root, &file) {
                refused.push(e);
                continue;
            }
            match std::fs::remove_file(&file) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => refused.push(format!("removing {}: {e}", file.display())),
            }
            dirs.extend(folders_between(root, &file));
        }
    }
    // Folders left empty, deepest first; a folder with anything else in it stays.
    let mut dirs: Vec<PathBuf> = dirs.into_iter().collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
    removed
}

/// The folders strictly between `root` and `file`.
fn folders_between(root: &Path, file: &Path) -> Vec<PathBuf> {
    file.ancestors().skip(1).take_while(|d| d.starts_with(root) && *d != root).map(Path::to_path_buf).collect()
}
