//! One mechanism for every opaque handle: how a C pointer maps to a Rust value.
//!
//! A handle is a `Box<Checked<T>>` turned into a raw pointer: an atomic magic number (8 ASCII
//! bytes naming the kind, e.g. `mle:modl`) followed by the value. Entry points never cast a
//! handle by hand; they call [`get`] (a shared reference after the magic check) or [`free`]
//! (which swaps the magic to [`FREED`] with one atomic read-modify-write before the box is
//! dropped). The idea is rustls-ffi's `Castable`: the C pointer *is* the box, so freeing it
//! cannot leave a live object behind that a second free would find.
//!
//! Shared values (a model used by sessions and runtimes) live in an `Arc` *inside* the box: a
//! double free of the handle meets the freed magic in the common case (memory not reused yet)
//! and never decrements the shared count a second time through a valid-looking handle.
//!
//! What this cannot do: a pointer to freed or foreign memory is undefined behaviour in C, and
//! reading its magic is too. The check catches the usual mistakes (a handle of another kind, a
//! handle freed once already whose memory was not reused, a misaligned pointer); it is not a
//! guarantee, as with `free()`.
//!
//! Invariants (cited by the SAFETY comments below):
//! - (H1) A non-NULL pointer passed as a handle is, per the C contract, either a pointer returned
//!   by this library's `*_new`/`*_load` for some handle kind and not yet freed, or a bug of the
//!   caller's; every handle kind starts with the same `AtomicU64` magic field (`#[repr(C)]`), so
//!   reading the magic of any live handle is valid whatever its kind.
//! - (H2) A handle whose magic equals `T::MAGIC` is a live `Checked<T>` made by [`into_raw`].
//! - (H3) [`free`] takes the box back only after it changed the magic from `T::MAGIC` to
//!   [`FREED`] itself (compare-exchange), so two concurrent frees cannot both drop it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{fail, Result, Status};

/// The magic a handle carries once freed (`mle:free`).
pub(crate) const FREED: u64 = u64::from_le_bytes(*b"mle:free");

/// A Rust value that C code holds through an opaque pointer.
pub(crate) trait Handle: Sized {
    /// The opaque C type (`mle_model`, `mle_session`, ...).
    type C;
    /// The magic number of this kind: 8 ASCII bytes, distinct for each kind.
    const MAGIC: u64;
    /// The C type's name, for error messages.
    const NAME: &'static str;
}

/// What a handle points to.
#[repr(C)]
struct Checked<T> {
    magic: AtomicU64,
    value: T,
}

/// Box `value` and give C its pointer.
pub(crate) fn into_raw<T: Handle>(value: T) -> *mut T::C {
    Box::into_raw(Box::new(Checked { magic: AtomicU64::new(T::MAGIC), value })) as *mut T::C
}

/// Check a handle argument and return the value behind it.
///
/// # Safety
/// `ptr` follows (H1); the reference must not outlive the handle (the C contract: no call may
/// free a handle while another call uses it).
pub(crate) unsafe fn get<'a, T: Handle>(ptr: *const T::C, argument: &str) -> Result<&'a T> {
    let checked = ptr as *const Checked<T>;
    if checked.is_null() {
        return fail(Status::InvalidArgument, format!("{argument} is NULL"));
    }
    if !checked.cast::<AtomicU64>().is_aligned() {
        return fail(Status::InvalidArgument, format!("{argument} is not an {} handle (misaligned pointer)", T::NAME));
    }
    // SAFETY: non-NULL and aligned; by (H1) the pointer is a live handle of some kind, all of
    // which start with an AtomicU64 magic.
    let magic = unsafe { &*checked.cast::<AtomicU64>() }.load(Ordering::Acquire);
    if magic != T::MAGIC {
        let what = if magic == FREED { "already freed".to_string() } else { "a handle of another kind".to_string() };
        return fail(Status::InvalidArgument, format!("{argument} is not a live {} handle ({what})", T::NAME));
    }
    // SAFETY: (H2): the magic says this is a live Checked<T>.
    Ok(unsafe { &(*checked).value })
}

/// Check a handle and take it back from C: returns the value, or an error if the pointer is not
/// a live handle of this kind (then nothing is freed). NULL gives `Ok(None)`.
///
/// # Safety
/// As [`get`]; no other call may use the handle during or after this one.
pub(crate) unsafe fn free<T: Handle>(ptr: *mut T::C, argument: &str) -> Result<Option<T>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's contract is get's; the reference ends before the box is taken back.
    unsafe { get::<T>(ptr, argument)? };
    let checked = ptr as *mut Checked<T>;
    // SAFETY: get checked that this is a live Checked<T> (H2).
    let magic = unsafe { &(*checked).magic };
    if magic.compare_exchange(T::MAGIC, FREED, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return fail(Status::InvalidArgument, format!("{argument} was freed by another thread during this call"));
    }
    // SAFETY: (H3): this call changed the magic to FREED, so it alone owns the box made by
    // into_raw. The FREED magic stays in the memory the allocator gets back: a later call with
    // the same pointer sees it unless the memory was reused.
    let boxed = unsafe { Box::from_raw(checked) };
    Ok(Some(boxed.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Thing(u32);
    pub struct thing_c {
        _private: [u8; 0],
    }
    impl Handle for Thing {
        type C = thing_c;
        const MAGIC: u64 = u64::from_le_bytes(*b"mle:test");
        const NAME: &'static str = "thing";
    }
    #[derive(Debug)]
    struct Other;
    impl Handle for Other {
        type C = thing_c;
        const MAGIC: u64 = u64::from_le_bytes(*b"mle:othr");
        const NAME: &'static str = "other";
    }

    #[test]
    fn a_handle_is_checked_by_kind_and_freed_once() {
        let ptr = into_raw(Thing(7));
        // SAFETY: a live handle made above.
        unsafe {
            assert_eq!(get::<Thing>(ptr, "thing").unwrap().0, 7);
            let wrong = get::<Other>(ptr, "other").unwrap_err();
            assert_eq!(wrong.status(), Status::InvalidArgument);
            assert!(wrong.message().contains("another kind"), "{}", wrong.message());
            assert!(get::<Thing>(std::ptr::null(), "thing").is_err());
            let misaligned = (ptr as *const u8).add(1) as *const thing_c;
            assert!(get::<Thing>(misaligned, "thing").unwrap_err().message().contains("misaligned"));
            assert_eq!(free::<Thing>(ptr, "thing").unwrap().map(|t| t.0), Some(7));
            assert!(free::<Thing>(std::ptr::null_mut(), "thing").unwrap().is_none());
        }
    }
}
