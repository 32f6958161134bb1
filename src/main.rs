//! The `vodbuild` binary: everything lives in the library; see `vodbuild::cli`.

// mimalloc, built without transparent huge pages (feature `no_thp`): a no-op run over 10,000
// titles allocates about 250 MB for a second, and zeroing 2 MiB pages for it cost up to 0.8 s
// of system time on a VM whose memory had been used by another process (the bench's ninja run
// just before). Steps' tools get the machine's setting back (exec/runner.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(vodbuild::cli::main());
}
