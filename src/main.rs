//! The `vodbuild` binary: everything lives in the library; see `vodbuild::cli`.

fn main() {
    std::process::exit(vodbuild::cli::main());
}
