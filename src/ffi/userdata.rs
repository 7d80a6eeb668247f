//! The host's userdata pointer, handed back to the host's free function when the library lets go
//! of it (callback replaced or removed, object freed).

use std::ffi::c_void;

use super::monitor::mle_free_userdata;

/// A userdata pointer and its (optional) free function; dropping it calls the function once.
pub(super) struct Userdata {
    ptr: *mut c_void,
    free: mle_free_userdata,
}

// SAFETY: every entry point taking a userdata documents that its callback (and so the userdata)
// may be used from any thread; the library itself never dereferences the pointer.
unsafe impl Send for Userdata {}
// SAFETY: as above: shared access only passes the pointer back to the host's own functions.
unsafe impl Sync for Userdata {}

impl Userdata {
    pub(super) fn new(ptr: *mut c_void, free: mle_free_userdata) -> Userdata {
        Userdata { ptr, free }
    }

    /// The pointer, to pass to the host's callback.
    pub(super) fn get(&self) -> *mut c_void {
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
