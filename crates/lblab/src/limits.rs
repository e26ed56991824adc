//! What the machine allows the balancer: the open-files limit it inherits from the runner and a
//! worker per CPU.

/// The hard open-files limit nginx inherits from this process (`None`: unlimited or unknown).
pub fn hard_nofile_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) writes into the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0;
    (ok && l.rlim_max != libc::RLIM_INFINITY).then_some(l.rlim_max)
}

/// One nginx worker per CPU.
pub fn default_workers() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}
