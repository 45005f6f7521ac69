//! How many connection threads this process may have at once.
//!
//! Every thread costs the process about four memory mappings (its stack, the
//! stack's guard page, and the alternate signal stack Rust sets up, with its
//! own guard page), and Linux caps mappings per process at
//! `vm.max_map_count` (65,530 by default). A thread that cannot get its
//! mappings aborts the whole process inside the standard library, so the
//! server counts its threads and refuses new connections (LOAD-6) well
//! before that point, instead of crashing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Mappings per thread, with some to spare.
const MAPPINGS_PER_THREAD: usize = 5;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static LIMIT: OnceLock<usize> = OnceLock::new();

/// The most connection threads this process may run at once.
pub fn limit() -> usize {
    *LIMIT.get_or_init(|| {
        let read = |path: &str| -> Option<usize> {
            std::fs::read_to_string(path).ok()?.trim().parse().ok()
        };
        let maps = read("/proc/sys/vm/max_map_count").unwrap_or(65_530);
        let pids = read("/proc/sys/kernel/threads-max").unwrap_or(usize::MAX);
        // Room for the mappings of the heap, the binary and everything else.
        (maps / MAPPINGS_PER_THREAD)
            .min(pids / 2)
            .saturating_sub(500)
    })
}

/// Reserves `n` thread slots; false (reserving nothing) if that would pass
/// the limit.
pub fn reserve(n: usize) -> bool {
    let limit = limit();
    LIVE.fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
        (live + n <= limit).then_some(live + n)
    })
    .is_ok()
}

/// Gives back slots reserved with [`reserve`].
pub fn release(n: usize) {
    LIVE.fetch_sub(n, Ordering::AcqRel);
}
