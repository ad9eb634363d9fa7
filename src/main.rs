//! The `mesosim` binary: all of it lives in the library's `cli` module.

/// mimalloc: the simulator allocates and frees small objects (messages, resources) at a
/// high rate, where it is measurably faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's `mi_option_set(mi_option_t, long)` (mimalloc.h).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t`.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() -> std::process::ExitCode {
    // Memory a run frees is kept for its next allocations rather than handed back to the
    // system (by default after a second) and faulted in again, zeroed page by page: a run
    // builds and drops large tables as it goes (400,000 tasks in failover-40k), and giving
    // that memory back cost it a fifth of its time. The peak is what a run needs anyway.
    // SAFETY: setting an option is what mimalloc's API is for, at any time; the value is
    // one mimalloc documents (-1: never purge).
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    mesosim::cli::main()
}
