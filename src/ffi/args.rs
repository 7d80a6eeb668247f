//! Checking and converting C arguments (NULL pointers, lengths, strings).

use std::ffi::{c_char, CStr};

use crate::error::{fail, Error, Result, Status};

/// A required pointer as a reference.
///
/// # Safety
/// `ptr` is NULL or points to a valid `T` that outlives `'a`.
pub(crate) unsafe fn required<'a, T>(ptr: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: per the caller contract, non-NULL means valid.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::new(Status::InvalidArgument, format!("{name} is NULL")))
}

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
