//! The host's userdata pointer, handed back to the host's free function when the library lets go
//! of it (callback replaced or removed, object freed).

use std::ffi::c_void;

/// Frees a callback's `userdata`. The library calls it exactly once for each userdata it was
/// given, when it lets go of the callback; each function taking one says when and on which
/// thread.
pub type mle_free_userdata = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A userdata pointer and its (optional) free function; dropping it calls the function once.
pub(crate) struct Userdata {
    ptr: *mut c_void,
    free: mle_free_userdata,
}

// SAFETY: every entry point taking a userdata documents that its callback (and so the userdata)
// may be used from any thread; the library itself never dereferences the pointer.
unsafe impl Send for Userdata {}
// SAFETY: as above: shared access only passes the pointer back to the host's own functions.
unsafe impl Sync for Userdata {}

impl Userdata {
    pub(crate) fn new(ptr: *mut c_void, free: mle_free_userdata) -> Userdata {
        Userdata { ptr, free }
    }

    /// The pointer, to pass to the host's callback.
    pub(crate) fn get(&self) -> *mut c_void {
        self.ptr
    }
}

impl Drop for Userdata {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the host gave this function for this pointer; called exactly once.
            unsafe { free(self.ptr) };
        }
    }
}
