//! Process-wide set-up done first thing in `main`, before any thread
//! starts: the allocator's options, transparent huge pages and SIGPIPE.
//! The one place of the workspace with `unsafe` code (C APIs: mimalloc's
//! options, `prctl(2)`, `signal(2)`); every library crate forbids it.
#![allow(unsafe_code)]

/// Everything below, in order. Called once, at the start of `main`.
pub fn set_up() {
    // Return freed pages after 1 ms (mimalloc waits 10 ms by default): a run
    // frees each file's document tree and keeps its findings, so peak RSS
    // stays near what is live (DESIGN §10: under 150 MB for 10,000 files).
    // Measured with 122,000 findings (huge pages on): 0 ms 106–115 MB but
    // more page faults, 1 ms 109–116 MB, 10 ms 117–124 MB.
    // SAFETY: sets a documented option of the allocator, before any thread starts.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1) };
    disable_transparent_huge_pages();
    restore_sigpipe();
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (mimalloc.h, v2 and
/// v3): how long freed memory is kept before it is returned to the system.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// `mi_option_allow_thp` in mimalloc v3's `mi_option_e` (mimalloc.h).
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// Turns transparent huge pages off for this process (Linux `prctl(2)`,
/// `PR_SET_THP_DISABLE`). mimalloc advises huge pages for its arenas, so
/// with THP in `madvise` mode (the common default) every page it touches is
/// a 2 MiB page zeroed in full: measured on 10,000 files with 122,000
/// findings, peak RSS 114–117 MB with them and 85–86 MB without, at the
/// same wall time (about one run in ten still peaks near 115 MB: mimalloc
/// advised its first arena before `main`). mimalloc is also told not to
/// advise huge pages for arenas it maps later. A failure leaves them on (a
/// slower, bigger run, not a wrong one). `MIMALLOC_ALLOW_THP=1` in the
/// environment keeps them.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none_or(|v| v != "1") {
        // SAFETY: sets a documented option of the allocator (mimalloc v3,
        // the version libmimalloc-sys builds by default), before any thread
        // starts.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0) };
        // SAFETY: prctl with PR_SET_THP_DISABLE takes integer arguments only
        // and changes no memory of this process.
        unsafe {
            libc::prctl(
                libc::PR_SET_THP_DISABLE,
                1 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            );
        }
    }
}

/// A closed stdout (`bylaw rules | head`) ends the process quietly, as
/// it does for other command-line tools, instead of panicking in `println!`:
/// Rust ignores SIGPIPE by default, this restores the default action.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread is started;
    // setting a signal's disposition to its default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
