//! The atomics, cells and spin hint the pool table uses: std's, or loom's under `--cfg loom` so
//! that the loom model in `pool.rs` explores every interleaving of the real code.
//!
//! loom's atomics and cells cannot be built in a `const` context, so the table cannot be a plain
//! `static` under loom: [`const_fn_unless_loom!`] makes its constructors `const` only in the
//! real build, and `pool.rs` puts the table in a `loom::lazy_static!` (one per model execution)
//! under loom and in a `static` otherwise. Everything else is the same code.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::hint::spin_loop;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use std::hint::spin_loop;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// std's `UnsafeCell` with loom's closure-based access API (and a `const` constructor).
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Functions without parameters that are `const fn` in the real build (the pool table is a
/// `static`) and plain `fn` under loom, whose atomics are not const-constructible. One body.
macro_rules! const_fn_unless_loom {
    ($($(#[$attr:meta])* $vis:vis fn $name:ident() -> $ret:ty $body:block)*) => {$(
        #[cfg(not(loom))]
        $(#[$attr])*
        $vis const fn $name() -> $ret $body

        #[cfg(loom)]
        $(#[$attr])*
        $vis fn $name() -> $ret $body
    )*};
}

/// `[$value; $len]` for a value that is not `Copy`: an inline `const` block in the real build,
/// `std::array::from_fn` under loom.
#[cfg(not(loom))]
macro_rules! array_of {
    ($value:expr; $len:expr) => {
        [const { $value }; $len]
    };
}

/// `[$value; $len]` for a value that is not `Copy`: an inline `const` block in the real build,
/// `std::array::from_fn` under loom.
#[cfg(loom)]
macro_rules! array_of {
    ($value:expr; $len:expr) => {
        std::array::from_fn::<_, { $len }, _>(|_| $value)
    };
}

pub(crate) use {array_of, const_fn_unless_loom};
