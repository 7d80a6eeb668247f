//! Checking and converting C arguments (NULL pointers, lengths, strings, paths) and copying text
//! into fixed C buffers: the helpers every entry point shares.

use std::ffi::{c_char, CStr};

use crate::error::{fail, Error, Result, Status};

/// A required output pointer.
///
/// # Safety
/// `ptr` is NULL or points to writable memory for a `T`.
pub(crate) unsafe fn output<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: per the caller contract, non-NULL means valid and exclusively ours for the call.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::new(Status::InvalidArgument, format!("{name} (output) is NULL")))
}

/// `(ptr, len)` as a slice; NULL is allowed only with `len == 0`.
///
/// # Safety
/// When non-NULL, `ptr` points to `len` valid, initialized `T`s that outlive `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T]> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            fail(Status::InvalidArgument, format!("{name} is NULL but its length is {len}"))
        };
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return fail(Status::InvalidArgument, format!("{name} length {len} is too large"));
    }
    if !ptr.is_aligned() {
        return fail(Status::InvalidArgument, format!("{name} is misaligned"));
    }
    // SAFETY: non-NULL, length bounded, validity per the caller contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// `(ptr, capacity)` as a mutable slice; NULL means "not wanted".
///
/// # Safety
/// When non-NULL, `ptr` points to `capacity` writable `T`s, not aliased during the call.
pub(crate) unsafe fn optional_out_slice<'a, T>(
    ptr: *mut T,
    capacity: usize,
    name: &str,
) -> Result<Option<&'a mut [T]>> {
    if ptr.is_null() {
        return Ok(None);
    }
    if capacity > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return fail(Status::InvalidArgument, format!("{name} capacity {capacity} is too large"));
    }
    if !ptr.is_aligned() {
        return fail(Status::InvalidArgument, format!("{name} is misaligned"));
    }
    // SAFETY: non-NULL, capacity bounded, validity per the caller contract.
    Ok(Some(unsafe { std::slice::from_raw_parts_mut(ptr, capacity) }))
}

/// A required NUL-terminated string's bytes.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_string<'a>(ptr: *const c_char, name: &str) -> Result<&'a [u8]> {
    if ptr.is_null() {
        return fail(Status::InvalidArgument, format!("{name} is NULL"));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller contract.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// Bytes as UTF-8 text, with the offset of the first bad byte in the error.
pub(crate) fn utf8<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        Error::new(Status::InvalidUtf8, format!("{name} is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()))
    })
}

/// Write `value` through `ptr` if it is not NULL.
///
/// # Safety
/// `ptr` is NULL or points to writable memory for a `T`.
pub(crate) unsafe fn write_optional<T>(ptr: *mut T, value: T) {
    // SAFETY: per the caller contract.
    if let Some(slot) = unsafe { ptr.as_mut() } {
        *slot = value;
    }
}

/// A NUL-terminated path from C. The one rule for every path argument: on POSIX systems any
/// bytes but NUL (paths need not be UTF-8), elsewhere UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn path_from_c(ptr: *const c_char, name: &str) -> Result<std::path::PathBuf> {
    // SAFETY: per the caller's contract.
    let bytes = unsafe { c_string(ptr, name)? };
    if bytes.is_empty() {
        return fail(Status::InvalidArgument, format!("{name} is empty"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(std::ffi::OsStr::from_bytes(bytes).into())
    }
    #[cfg(not(unix))]
    {
        Ok(utf8(bytes, name)?.into())
    }
}

/// Copies `text` into a fixed C buffer, NUL-terminated, cut at a UTF-8 boundary (interior NULs
/// become spaces); true if cut.
pub(crate) fn copy_text<const N: usize>(text: &str, out: &mut [c_char; N]) -> bool {
    let mut len = text.len().min(N - 1);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    for (dst, src) in out.iter_mut().zip(&text.as_bytes()[..len]) {
        *dst = if *src == 0 { b' ' as c_char } else { *src as c_char };
    }
    out[len] = 0;
    len < text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_a_char_boundary() {
        let mut buf = [0 as c_char; 4];
        assert!(copy_text("aéé", &mut buf));
        assert_eq!(buf[..4].iter().map(|&c| c as u8).collect::<Vec<_>>(), [b'a', 0xc3, 0xa9, 0]);
        assert!(!copy_text("ab", &mut buf));
        assert!(copy_text("a\0bcd", &mut buf));
        assert_eq!(buf[1] as u8, b' ');
    }

    #[test]
    fn misaligned_and_oversized_slices_are_refused() {
        let values = [0u32; 4];
        let misaligned = (values.as_ptr() as *const u8).wrapping_add(1) as *const u32;
        // SAFETY: refused before any read.
        assert!(unsafe { slice(misaligned, 1, "values") }.is_err());
        // SAFETY: refused before any read.
        assert!(unsafe { slice(values.as_ptr(), usize::MAX, "values") }.is_err());
        // SAFETY: NULL with a length is refused; NULL with 0 is empty.
        assert!(unsafe { slice::<u32>(std::ptr::null(), 1, "values") }.is_err());
        // SAFETY: as above.
        assert!(unsafe { slice::<u32>(std::ptr::null(), 0, "values") }.unwrap().is_empty());
    }
}
