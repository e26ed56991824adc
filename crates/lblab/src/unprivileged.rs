//! Who a balancer's workers run as when the runner is root: nginx's drop to its default user,
//! nobody, by themselves; HAProxy's stay root unless told, so the lab tells them the same user.

use std::ffi::CStr;

use crate::procfs;

/// The uid and gid HAProxy's workers drop to: nobody's when the runner is root, `None` (the
/// runner's own user, nothing to drop) otherwise.
pub fn haproxy_run_as() -> Option<(u32, u32)> {
    (procfs::my_uid() == 0).then(nobody)
}

/// nobody's uid and primary gid from the user database, else the kernel's overflow ids (65534),
/// which is what nobody is on most systems and owns nothing.
fn nobody() -> (u32, u32) {
    const NAME: &CStr = c"nobody";
    // SAFETY: getpwnam with a NUL-terminated name; the record it points to is read at once,
    // before any other call could reuse it, and only its two integers are kept.
    let pw = unsafe { libc::getpwnam(NAME.as_ptr()) };
    if pw.is_null() {
        return (OVERFLOW_ID, OVERFLOW_ID);
    }
    // SAFETY: pw is non-null and points to getpwnam's record.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    if uid == 0 || gid == 0 {
        // A database that names root nobody: never run as root for it.
        return (OVERFLOW_ID, OVERFLOW_ID);
    }
    (uid, gid)
}

/// The kernel's overflow uid and gid (/proc/sys/kernel/overflowuid): nobody.
const OVERFLOW_ID: u32 = 65534;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_drops_and_never_to_root() {
        let (uid, gid) = nobody();
        assert!(uid != 0 && gid != 0);
        assert_eq!(haproxy_run_as().is_some(), procfs::my_uid() == 0);
    }
}
