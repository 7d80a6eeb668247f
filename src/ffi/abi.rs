//! The ABI version and the structs that can grow.
//!
//! Every struct the caller allocates or the library fills starts with `uint32_t struct_size`:
//! the caller sets it to `sizeof` of the struct *as its header declares it*. A later minor
//! release only ever appends fields, so the library can serve a program built against any
//! earlier header of the same major version:
//!
//! - **In** (options, variants, self-test cases, baselines, thresholds): the library reads the
//!   fields the caller's struct has and uses the defaults for the rest. A struct larger than the
//!   library knows (a program built against a newer header) is accepted only when every byte the
//!   library does not know is zero (the newer fields left at their "default" value); otherwise the
//!   call fails with `MLE_ERR_ABI_MISMATCH` instead of silently ignoring an option.
//! - **Out** (details, stats, snapshots, health, predictions): the library writes the fields the
//!   caller's struct has room for and zeroes any bytes beyond the ones it knows.
//! - **Arrays** of such structs: element 0's `struct_size` is the stride, and every element
//!   written gets it.
//! - **Callbacks** receive structs whose `struct_size` is the library's own size: a program built
//!   against a newer header checks it before reading a field the library may not have.
//! - Structs nested inside another (`mle_drift` in `mle_snapshot`, ...) never change; new data
//!   goes at the end of the outer struct.
//!
//! The rule for maintainers: a new field goes at the end, starting at or after the previous
//! release's `sizeof` (never in trailing padding), and the struct's size table (`SIZES`) gets the
//! new size; `abi_sizes_are_recorded` fails until it does.
//!
//! Why a size field rather than opaque builders with setters (wasmtime's choice): the runtime's
//! outputs (snapshots, health, statistics) are read field by field in tight host loops and by the
//! bindings' struct mirrors (Kotlin/JNA, Swift); a getter per field would triple the API surface
//! and put a call per field on the host's path. One mechanism serves inputs and outputs alike, the
//! way Linux's extensible syscall structs (`clone3`, `openat2`) and Win32's `cbSize` do.

use std::mem::size_of;

use super::status::mle_status;
use crate::error::{fail, Error, Result, Status};

/// Major version of the C ABI this header describes: programs built against one major version
/// run against any library of the same major version whose minor version is at least theirs.
/// (build.rs reads this line for the shared library's SONAME, `libmlops_edge.so.<major>`.)
pub const MLE_ABI_VERSION_MAJOR: u32 = 1;
/// Minor version of the C ABI this header describes (fields and functions added, none changed).
pub const MLE_ABI_VERSION_MINOR: u32 = 4;
/// `(major << 16) | minor`: pass it to `mle_abi_check`. (A literal, so that every binding's
/// macro importer takes it; a compile-time check ties it to the two above.)
pub const MLE_ABI_VERSION: u32 = 0x0001_0004;
const _: () = assert!(MLE_ABI_VERSION == (MLE_ABI_VERSION_MAJOR << 16) | MLE_ABI_VERSION_MINOR);
const ABI_MAJOR: u32 = MLE_ABI_VERSION_MAJOR;
const ABI_MINOR: u32 = MLE_ABI_VERSION_MINOR;

/// The largest `struct_size` accepted: far above any struct of this library, low enough that a
/// garbage value is refused before the library touches memory the caller does not own.
const MAX_STRUCT_SIZE: usize = 64 * 1024;

/// The C ABI version the library implements, `(major << 16) | minor` (compare with the header's
/// `MLE_ABI_VERSION`).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn mle_abi_version() -> u32 {
    MLE_ABI_VERSION
}

/// Check that this library serves a program compiled against ABI `compiled_abi_version`: pass
/// `MLE_ABI_VERSION`. Call it once at startup, before any other call.
///
/// Errors: `MLE_ERR_ABI_MISMATCH` when the major versions differ or the program's header is
/// newer than the library (it may use fields and functions the library does not have); the
/// message names both versions.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn mle_abi_check(compiled_abi_version: u32) -> mle_status {
    super::boundary::guard(|| check(compiled_abi_version))
}

fn check(compiled: u32) -> Result<()> {
    let (major, minor) = (compiled >> 16, compiled & 0xffff);
    if major != ABI_MAJOR || minor > ABI_MINOR {
        return fail(
            Status::AbiMismatch,
            format!(
                "the program was compiled against C ABI {major}.{minor}, this library implements {ABI_MAJOR}.{ABI_MINOR}: \
                 link a library of ABI {major}.x with minor version {minor} or later"
            ),
        );
    }
    Ok(())
}

/// A `#[repr(C)]` struct of the C ABI whose first field is `struct_size: u32`.
///
/// # Safety
/// Implementors are `#[repr(C)]`, start with a `u32` size field, and every bit pattern of their
/// bytes is a valid value (integers, floats, raw pointers, `Option` of function pointers, arrays
/// of those): the library copies a prefix of the caller's bytes over a default value.
pub(crate) unsafe trait Extensible: Sized {
    /// The C name, for messages.
    const NAME: &'static str;
    /// `sizeof` of every released layout, oldest first; the last is `size_of::<Self>()`.
    const SIZES: &'static [usize];
    /// The value the library starts from when reading a caller's struct (the defaults of fields
    /// the caller's layout may lack). For output structs, any value.
    fn defaults() -> Self;
}

/// Implements [`Extensible`] for output-only structs (all-zero default).
macro_rules! extensible_out {
    ($($ty:ident: $sizes:expr;)*) => {$(
        // SAFETY: $ty is #[repr(C)], starts with struct_size: u32, and holds only plain data.
        unsafe impl $crate::ffi::abi::Extensible for $ty {
            const NAME: &'static str = stringify!($ty);
            const SIZES: &'static [usize] = $sizes;
            fn defaults() -> Self {
                // SAFETY: all-zero is a valid value of this plain-data struct.
                unsafe { std::mem::zeroed() }
            }
        }
    )*};
}
pub(crate) use extensible_out;

/// The caller's `struct_size`, checked against the oldest layout and the sanity bound.
///
/// # Safety
/// `ptr` is non-NULL, aligned for `T`, and points to at least 4 readable bytes.
unsafe fn caller_size<T: Extensible>(ptr: *const T, argument: &str) -> Result<usize> {
    // SAFETY: per the contract, the first 4 bytes are the caller's struct_size field.
    let size = unsafe { ptr.cast::<u32>().read() } as usize;
    if size < T::SIZES[0] {
        let how = if size == 0 { " (not set)" } else { "" };
        return fail(
            Status::InvalidArgument,
            format!(
                "{argument}.struct_size is {size}{how}, below the smallest {} ({} bytes): set it to sizeof({}) \
                 (the *_init functions and `= {{ .struct_size = sizeof x }}` do)",
                T::NAME,
                T::SIZES[0],
                T::NAME
            ),
        );
    }
    if !is_layout_size::<T>(size) {
        return fail(Status::InvalidArgument, format!("{argument}.struct_size {size} is not a size of {}", T::NAME));
    }
    Ok(size)
}

/// A size some header gave the struct: one of the released layouts, or above the newest (a newer
/// header's) up to the sanity bound. A size between two layouts is no header's: it would cut a
/// field in two.
fn is_layout_size<T: Extensible>(size: usize) -> bool {
    let newest = *T::SIZES.last().expect("a struct has at least one layout");
    T::SIZES.contains(&size) || (size > newest && size <= MAX_STRUCT_SIZE)
}

/// Checks a non-NULL, aligned pointer.
fn checked<T>(ptr: *const T, argument: &str) -> Result<()> {
    if ptr.is_null() {
        return fail(Status::InvalidArgument, format!("{argument} is NULL"));
    }
    if !ptr.is_aligned() {
        return fail(Status::InvalidArgument, format!("{argument} is misaligned"));
    }
    Ok(())
}

/// Initialise a caller's struct: zero its `struct_size` bytes, write the library's defaults for
/// the fields it knows, set `struct_size`.
///
/// # Safety
/// `ptr` is NULL (an error) or points to `struct_size` writable bytes.
pub(crate) unsafe fn init<T: Extensible>(ptr: *mut T, struct_size: usize, argument: &str) -> Result<()> {
    checked(ptr, argument)?;
    if !is_layout_size::<T>(struct_size) {
        return fail(
            Status::InvalidArgument,
            format!("struct_size {struct_size} is not a size of {}: pass sizeof({})", T::NAME, T::NAME),
        );
    }
    // SAFETY: the caller's struct has `struct_size` writable bytes, aligned (checked).
    unsafe {
        std::ptr::write_bytes(ptr.cast::<u8>(), 0, struct_size);
        write_sized(ptr.cast(), struct_size, &T::defaults());
    }
    Ok(())
}

/// Read a caller's input struct: its known fields, the defaults for fields its layout lacks.
///
/// # Safety
/// `ptr` is NULL (an error) or points to `struct_size` readable bytes holding the caller's struct.
pub(crate) unsafe fn read_in<T: Extensible>(ptr: *const T, argument: &str) -> Result<T> {
    checked(ptr, argument)?;
    // SAFETY: non-NULL and aligned; the caller's struct starts with struct_size.
    let size = unsafe { caller_size(ptr, argument)? };
    // SAFETY: the caller's struct has `size` bytes.
    unsafe { check_unknown_tail_is_zero::<T>(ptr.cast(), size, argument)? };
    let known = T::SIZES.iter().copied().filter(|&s| s <= size).max().unwrap_or(T::SIZES[0]);
    let mut value = T::defaults();
    // SAFETY: `known` <= size (readable in the caller's struct) and <= size_of::<T>() (writable in
    // `value`); T accepts any bit pattern (Extensible's contract); the two do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), (&mut value as *mut T).cast::<u8>(), known) };
    Ok(value)
}

/// The fields of a caller's input struct that this library knows, whatever the struct holds
/// beyond them: `None` only when `struct_size` is below the struct's first layout (then nothing
/// of it may be read). For releasing what a refused struct hands over (its userdata).
///
/// # Safety
/// As [`read_in`].
pub(crate) unsafe fn read_known<T: Extensible>(ptr: *const T) -> Option<T> {
    checked(ptr, "").ok()?;
    // SAFETY: per the caller's contract.
    let size = unsafe { caller_size(ptr, "") }.ok()?;
    let known = T::SIZES.iter().copied().filter(|&s| s <= size).max()?;
    let mut value = T::defaults();
    // SAFETY: as in read_in.
    unsafe { std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), (&mut value as *mut T).cast::<u8>(), known) };
    Some(value)
}

/// Read `count` input structs laid out `element 0's struct_size` apart.
///
/// # Safety
/// `ptr` is NULL (an error unless `count` is 0) or points to `count` structs of the caller's
/// layout.
pub(crate) unsafe fn read_in_array<T: Extensible>(ptr: *const T, count: usize, argument: &str) -> Result<Vec<T>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    checked(ptr, argument)?;
    // SAFETY: non-NULL, aligned, at least one element.
    let stride = unsafe { caller_size(ptr, &format!("{argument}[0]"))? };
    if stride % std::mem::align_of::<T>() != 0 || count > isize::MAX as usize / stride {
        return fail(
            Status::InvalidArgument,
            format!("{argument}[0].struct_size {stride} is not a size of {}", T::NAME),
        );
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: element i of the caller's array, `stride` bytes apart, stays aligned.
        let element = unsafe { ptr.cast::<u8>().add(i * stride) }.cast::<T>();
        // SAFETY: as above: element i is readable.
        let size = unsafe { element.cast::<u32>().read() } as usize;
        if size != stride {
            return fail(
                Status::InvalidArgument,
                format!("{argument}[{i}].struct_size is {size}, element 0's is {stride}: set it in every element"),
            );
        }
        // SAFETY: element i holds a caller struct of `stride` bytes.
        out.push(unsafe { read_in(element, &format!("{argument}[{i}]"))? });
    }
    Ok(out)
}

/// Bytes of the caller's struct beyond the library's layout must be zero.
///
/// # Safety
/// `ptr` points to `size` readable bytes.
unsafe fn check_unknown_tail_is_zero<T: Extensible>(ptr: *const u8, size: usize, argument: &str) -> Result<()> {
    let ours = size_of::<T>();
    if size <= ours {
        return Ok(());
    }
    // SAFETY: bytes ours..size are the caller's (its struct_size says so).
    let tail = unsafe { std::slice::from_raw_parts(ptr.add(ours), size - ours) };
    if let Some(at) = tail.iter().position(|&b| b != 0) {
        return fail(
            Status::AbiMismatch,
            format!(
                "{argument} sets a field at byte {} of {}, which this library (C ABI {ABI_MAJOR}.{ABI_MINOR}, {ours} bytes) \
                 does not know: the program was built against a newer header; link a newer library or leave that field 0",
                ours + at,
                T::NAME
            ),
        );
    }
    Ok(())
}

/// Check a caller's output struct (non-NULL, aligned, a valid `struct_size`) before anything is
/// done that the result should be written for.
///
/// # Safety
/// `ptr` is NULL or points to a struct of `struct_size` bytes.
pub(crate) unsafe fn check_out<T: Extensible>(ptr: *const T, argument: &str) -> Result<()> {
    checked(ptr, argument)?;
    // SAFETY: non-NULL and aligned; the caller's struct starts with struct_size.
    unsafe { caller_size(ptr, argument) }.map(drop)
}

/// Write `value` into the caller's output struct (as many bytes as it has room for; bytes
/// beyond the library's layout are zeroed). `struct_size` keeps the caller's value.
///
/// # Safety
/// `ptr` is NULL (an error) or points to a writable struct of `struct_size` bytes.
pub(crate) unsafe fn write_out<T: Extensible>(ptr: *mut T, value: &T, argument: &str) -> Result<()> {
    checked(ptr, argument)?;
    // SAFETY: non-NULL and aligned; the caller's struct starts with struct_size.
    let size = unsafe { caller_size(ptr, argument)? };
    // SAFETY: as write_sized's contract, from the checks above.
    unsafe { write_sized(ptr.cast(), size, value) };
    Ok(())
}

/// Copies `value` into `size` bytes at `dst` (the part that fits; zeroes beyond our size), then
/// restores the caller's `struct_size`.
///
/// # Safety
/// `dst` points to `size` writable bytes, aligned for `T`, `size >= T::SIZES[0]`.
unsafe fn write_sized<T: Extensible>(dst: *mut u8, size: usize, value: &T) {
    let ours = size_of::<T>();
    let n = size.min(ours);
    // SAFETY: n bytes fit both the caller's struct and `value`; they do not overlap (value is
    // the library's own).
    unsafe {
        std::ptr::copy_nonoverlapping((value as *const T).cast::<u8>(), dst, n);
        if size > ours {
            std::ptr::write_bytes(dst.add(ours), 0, size - ours);
        }
        dst.cast::<u32>().write(size as u32);
    }
}

/// The caller's output array: element 0's `struct_size` is the stride.
pub(crate) struct OutArray<T> {
    ptr: *mut u8,
    stride: usize,
    capacity: usize,
    _type: std::marker::PhantomData<T>,
}

impl<T: Extensible> OutArray<T> {
    /// Check an output array of `capacity` elements (`capacity` 0 with any pointer: nothing is
    /// written).
    ///
    /// # Safety
    /// `ptr` is NULL or points to `capacity` writable structs whose element 0 has its
    /// `struct_size` set; the array outlives the returned value.
    pub(crate) unsafe fn new(ptr: *mut T, capacity: usize, argument: &str) -> Result<OutArray<T>> {
        if capacity == 0 {
            return Ok(OutArray { ptr: std::ptr::null_mut(), stride: 0, capacity: 0, _type: Default::default() });
        }
        checked(ptr, argument)?;
        // SAFETY: non-NULL, aligned, one element at least.
        let stride = unsafe { caller_size(ptr, &format!("{argument}[0]"))? };
        if stride % std::mem::align_of::<T>() != 0 || capacity > isize::MAX as usize / stride {
            return fail(
                Status::InvalidArgument,
                format!("{argument}[0].struct_size {stride} is not a size of {}", T::NAME),
            );
        }
        Ok(OutArray { ptr: ptr.cast(), stride, capacity, _type: Default::default() })
    }

    /// How many elements the caller's array holds.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Write element `index` (< capacity), setting its `struct_size` to the stride.
    pub(crate) fn write(&mut self, index: usize, value: &T) -> Result<()> {
        if index >= self.capacity {
            return Err(Error::new(
                Status::BufferTooSmall,
                format!("{} array holds {} elements", T::NAME, self.capacity),
            ));
        }
        // SAFETY: element `index` lies inside the caller's array (OutArray::new's contract), is
        // aligned (stride is a multiple of T's alignment) and spans `stride` >= SIZES[0] bytes.
        unsafe { write_sized(self.ptr.add(index * self.stride), self.stride, value) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Version 1.0 of a test struct, and a later 1.1 with one more field.
    #[repr(C)]
    #[derive(Debug, PartialEq)]
    struct V1 {
        struct_size: u32,
        a: u32,
        b: u64,
    }
    #[repr(C)]
    #[derive(Debug, PartialEq)]
    struct V2 {
        struct_size: u32,
        a: u32,
        b: u64,
        c: u64,
    }
    // SAFETY: repr(C), struct_size first, plain data.
    unsafe impl Extensible for V2 {
        const NAME: &'static str = "v2";
        const SIZES: &'static [usize] = &[size_of::<V1>(), size_of::<V2>()];
        fn defaults() -> Self {
            V2 { struct_size: size_of::<V2>() as u32, a: 1, b: 2, c: 3 }
        }
    }
    // SAFETY: repr(C), struct_size first, plain data.
    unsafe impl Extensible for V1 {
        const NAME: &'static str = "v1";
        const SIZES: &'static [usize] = &[size_of::<V1>()];
        fn defaults() -> Self {
            V1 { struct_size: size_of::<V1>() as u32, a: 1, b: 2 }
        }
    }

    #[test]
    fn an_older_callers_struct_gets_defaults_for_the_fields_it_lacks() {
        let old = V1 { struct_size: size_of::<V1>() as u32, a: 10, b: 20 };
        // SAFETY: `old` is a V1, which is V2's first layout.
        let read = unsafe { read_in(&old as *const V1 as *const V2, "options") }.unwrap();
        assert_eq!((read.a, read.b, read.c), (10, 20, 3));
    }

    #[test]
    fn a_size_between_two_layouts_is_refused() {
        let mut between = V2 { struct_size: size_of::<V1>() as u32 + 4, a: 10, b: 20, c: 0 };
        // SAFETY: `between` has V2's size, more than its struct_size says.
        let err = unsafe { read_in(&between as *const V2, "options") }.unwrap_err();
        assert!(err.message().contains("not a size of v2"), "{}", err.message());
        // SAFETY: as above; init writes at most struct_size bytes.
        assert!(unsafe { init(&mut between as *mut V2, size_of::<V1>() + 4, "options") }.is_err());
        // SAFETY: as above.
        assert!(unsafe { init(&mut between as *mut V2, size_of::<V1>(), "options") }.is_ok());
    }

    #[test]
    fn a_newer_callers_struct_is_accepted_only_with_its_new_fields_zero() {
        let mut new = V2 { struct_size: size_of::<V2>() as u32, a: 10, b: 20, c: 0 };
        // SAFETY: `new` has V2's size, of which the V1 library knows the prefix.
        let read = unsafe { read_in(&new as *const V2 as *const V1, "options") }.unwrap();
        assert_eq!((read.a, read.b), (10, 20));
        new.c = 5;
        // SAFETY: as above.
        let err = unsafe { read_in(&new as *const V2 as *const V1, "options") }.unwrap_err();
        assert_eq!(err.status(), Status::AbiMismatch);
        assert!(err.message().contains("newer header"), "{}", err.message());
    }

    #[test]
    fn a_size_that_was_never_set_is_refused() {
        let zero = V2 { struct_size: 0, a: 0, b: 0, c: 0 };
        // SAFETY: a valid V2.
        let err = unsafe { read_in(&zero as *const V2, "options") }.unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument);
        assert!(err.message().contains("not set"), "{}", err.message());
        let huge = V2 { struct_size: u32::MAX, a: 0, b: 0, c: 0 };
        // SAFETY: the size is refused before anything beyond the struct is read.
        assert!(unsafe { read_in(&huge as *const V2, "options") }.is_err());
    }

    #[test]
    fn output_structs_are_filled_as_far_as_the_caller_has_room() {
        let value = V2 { struct_size: 0, a: 7, b: 8, c: 9 };
        let mut old = V1 { struct_size: size_of::<V1>() as u32, a: 0, b: 0 };
        // SAFETY: `old` has room for V1's bytes only, which is what its struct_size says.
        unsafe { write_out(&mut old as *mut V1 as *mut V2, &value, "out") }.unwrap();
        assert_eq!(old, V1 { struct_size: size_of::<V1>() as u32, a: 7, b: 8 });
        let mut newer = [0xffu64; 4];
        newer[0] = size_of::<[u64; 4]>() as u64; // struct_size 32 in the low half, a = 0
        let v1 = V1 { struct_size: 0, a: 1, b: 2 };
        // SAFETY: `newer` is 32 writable, aligned bytes and says so.
        unsafe { write_out(newer.as_mut_ptr() as *mut V1, &v1, "out") }.unwrap();
        assert_eq!(newer[0] & 0xffff_ffff, 32, "struct_size is the caller's");
        assert_eq!(newer[0] >> 32, 1);
        assert_eq!(newer[1], 2);
        assert_eq!(&newer[2..], &[0, 0], "bytes the library does not know are zeroed");
    }

    #[test]
    fn arrays_use_element_zeros_size_as_stride() {
        let items = [
            V1 { struct_size: size_of::<V1>() as u32, a: 1, b: 10 },
            V1 { struct_size: size_of::<V1>() as u32, a: 2, b: 20 },
        ];
        // SAFETY: two V1s, V2's oldest layout.
        let read = unsafe { read_in_array(items.as_ptr() as *const V2, 2, "cases") }.unwrap();
        assert_eq!(read.iter().map(|v| (v.a, v.b, v.c)).collect::<Vec<_>>(), [(1, 10, 3), (2, 20, 3)]);
        let mixed = [V1 { struct_size: size_of::<V1>() as u32, a: 1, b: 10 }, V1 { struct_size: 0, a: 2, b: 20 }];
        // SAFETY: as above.
        let err = unsafe { read_in_array(mixed.as_ptr() as *const V2, 2, "cases") }.unwrap_err();
        assert!(err.message().contains("cases[1].struct_size"), "{}", err.message());

        let mut out = [V1 { struct_size: size_of::<V1>() as u32, a: 0, b: 0 }, V1 { struct_size: 0, a: 0, b: 0 }];
        // SAFETY: two writable V1s, element 0's size set.
        let mut array = unsafe { OutArray::<V2>::new(out.as_mut_ptr() as *mut V2, 2, "models") }.unwrap();
        for i in 0..2 {
            array.write(i, &V2 { struct_size: 0, a: i as u32, b: 5, c: 6 }).unwrap();
        }
        assert_eq!(
            array.write(2, &V2 { struct_size: 0, a: 0, b: 0, c: 0 }).unwrap_err().status(),
            Status::BufferTooSmall
        );
        assert_eq!(out[1], V1 { struct_size: size_of::<V1>() as u32, a: 1, b: 5 });
    }

    #[test]
    fn abi_versions_are_checked() {
        assert!(check(MLE_ABI_VERSION).is_ok());
        assert!(check(ABI_MAJOR << 16).is_ok(), "an older minor is served");
        assert_eq!(check(MLE_ABI_VERSION + 1).unwrap_err().status(), Status::AbiMismatch);
        assert_eq!(check((ABI_MAJOR + 1) << 16).unwrap_err().status(), Status::AbiMismatch);
    }
}
