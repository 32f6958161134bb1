//! The `vodbuild` binary: everything lives in the library; see `vodbuild::cli`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(vodbuild::cli::main());
}
