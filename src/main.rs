//! The `mesosim` binary: all of it lives in the library's `cli` module.

/// mimalloc: the simulator allocates and frees small objects (messages, resources) at a
/// high rate, where it is measurably faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mesosim::cli::keep_freed_memory();
    mesosim::cli::main()
}
