//! What kind of file a path holds, in words, for the one-line refusals of a state directory and of a
//! report's path alike.

use std::fs::Metadata;
use std::os::unix::fs::FileTypeExt;

/// "a directory", "a FIFO", …: the kind of the file `meta` describes (from `symlink_metadata`, so a
/// link is named as one).
pub fn name(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_file() {
        "a regular file"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "something else"
    }
}
