/// Each runtime thread's stack. Leptos renders a page as one deeply nested
/// future; an unoptimized (debug) build of the larger pages needs more than
/// tokio's default 2 MiB. Untouched stack pages cost no memory.
/// mimalloc in place of glibc's malloc: the engine allocates and frees
/// small buffers on many threads (docs/benchmarks.md, issue 26 step 3).
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
const THREAD_STACK: usize = 8 << 20;

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK)
        .build()
        .expect("the async runtime starts");
    match runtime.block_on(signpost::server::cli::run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line a person can act on, not a panic trace.
            eprintln!("signpost: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build is a library (`hydrate`); this binary needs `ssr`.
}
