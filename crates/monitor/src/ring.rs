//! A bounded single-producer single-consumer ring of `Copy` records (Lamport's queue).
//!
//! Why not the `ringbuf` crate: the monitor needs a ring whose producer end is handed from one
//! session to the next (see [`crate::ingest`]) and whose exact memory orderings are checked by a
//! loom model, Miri and ThreadSanitizer. A 64-byte `Copy` record makes the ring ~60 lines; owning
//! them lets `--cfg loom` swap in loom's atomics and cells, which `ringbuf` does not support.
//!
//! Protocol: `tail` is written only by the producer, `head` only by the consumer. The producer
//! writes slot `tail` then publishes `tail + 1` with Release; the consumer Acquire-loads `tail`,
//! reads the slot, then publishes `head + 1` with Release, which the producer Acquire-loads
//! before reusing that slot. Indexes grow without bound (wrapping) and are masked into slots.

use std::mem::MaybeUninit;

use crate::sync::{AtomicUsize, Ordering, UnsafeCell};

/// Keeps the producer's and the consumer's index on separate cache lines.
#[repr(align(128))]
#[derive(Debug)]
struct CachePadded<T>(T);

/// The ring. Safe methods only observe; pushing and popping are `unsafe` because the caller must
/// guarantee one producer and one consumer at a time (the ingest layer does, by ownership).
#[derive(Debug)]
pub(crate) struct Ring<T: Copy> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: usize,
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
}

// SAFETY: slots are only accessed under the SPSC protocol above (one writer per slot at a time,
// ordered by the Release/Acquire pairs on head and tail); `T: Copy + Send` values move between
// threads by value.
unsafe impl<T: Copy + Send> Sync for Ring<T> {}
// SAFETY: the ring owns its slots; sending it sends `T` values, which are `Send`.
unsafe impl<T: Copy + Send> Send for Ring<T> {}

impl<T: Copy> Ring<T> {
    /// A ring holding `capacity` records (rounded up to a power of two, at least 1).
    pub(crate) fn new(capacity: usize) -> Ring<T> {
        let capacity = capacity.max(1).next_power_of_two();
        let slots = (0..capacity).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect();
        Ring {
            slots,
            mask: capacity - 1,
            head: CachePadded(AtomicUsize::new(0)),
            tail: CachePadded(AtomicUsize::new(0)),
        }
    }

    /// How many records it holds when full.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Records waiting for the consumer (a snapshot; exact when neither side is active).
    pub(crate) fn len(&self) -> usize {
        let tail = self.tail.0.load(Ordering::Acquire);
        let head = self.head.0.load(Ordering::Acquire);
        tail.wrapping_sub(head)
    }

    /// Appends `value`, or gives it back when the ring is full.
    ///
    /// # Safety
    /// No other thread may call `push` on this ring concurrently (single producer).
    pub(crate) unsafe fn push(&self, value: T) -> Result<(), T> {
        let tail = self.tail.0.load(Ordering::Relaxed);
        let head = self.head.0.load(Ordering::Acquire);
        if tail.wrapping_sub(head) > self.mask {
            return Err(value);
        }
        // SAFETY: slot `tail` is outside [head, tail), so the consumer does not read it, and the
        // caller guarantees no other producer writes it. The Acquire load of `head` above orders
        // this write after the consumer's last read of the slot.
        self.slots[tail & self.mask].with_mut(|slot| unsafe { slot.write(MaybeUninit::new(value)) });
        self.tail.0.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Removes the oldest record, if any.
    ///
    /// # Safety
    /// No other thread may call `pop` on this ring concurrently (single consumer).
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        let head = self.head.0.load(Ordering::Relaxed);
        let tail = self.tail.0.load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        // SAFETY: slot `head` is in [head, tail): the producer initialised it and published it
        // with the Release store of `tail` that the Acquire load above read; the producer does
        // not write it again until `head` moves past it below.
        let value = self.slots[head & self.mask].with(|slot| unsafe { (*slot).assume_init() });
        self.head.0.store(head.wrapping_add(1), Ordering::Release);
        Some(value)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_capacity_and_wraparound() {
        let ring = Ring::<u64>::new(3);
        assert_eq!(ring.capacity(), 4);
        for round in 0..10u64 {
            for i in 0..4 {
                // SAFETY: this test is the only producer and consumer.
                unsafe { ring.push(round * 10 + i) }.unwrap();
            }
            // SAFETY: as above.
            assert_eq!(unsafe { ring.push(99) }, Err(99));
            assert_eq!(ring.len(), 4);
            for i in 0..4 {
                // SAFETY: as above.
                assert_eq!(unsafe { ring.pop() }, Some(round * 10 + i));
            }
            // SAFETY: as above.
            assert_eq!(unsafe { ring.pop() }, None);
        }
    }

    #[test]
    fn two_threads_see_every_value_in_order() {
        let ring = std::sync::Arc::new(Ring::<u64>::new(8));
        let producer_ring = ring.clone();
        let total = if cfg!(miri) { 200 } else { 100_000 };
        let producer = std::thread::spawn(move || {
            let mut refused = 0u64;
            let mut next = 0u64;
            while next < total {
                // SAFETY: this thread is the only producer.
                match unsafe { producer_ring.push(next) } {
                    Ok(()) => next += 1,
                    Err(_) => {
                        refused += 1;
                        std::thread::yield_now();
                    }
                }
            }
            refused
        });
        let mut expected = 0u64;
        while expected < total {
            // SAFETY: this thread is the only consumer.
            if let Some(v) = unsafe { ring.pop() } {
                assert_eq!(v, expected);
                expected += 1;
            } else {
                std::thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert_eq!(ring.len(), 0);
    }
}

/// Exhaustive interleavings of the real ring code under loom:
/// `RUSTFLAGS="--cfg loom" cargo test --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::Ring;
    use loom::sync::Arc;

    #[test]
    fn producer_and_consumer_race() {
        loom::model(|| {
            let ring = Arc::new(Ring::<u32>::new(2));
            let producer = {
                let ring = ring.clone();
                loom::thread::spawn(move || {
                    // SAFETY: the only producer.
                    (0..3u32).filter(|v| unsafe { ring.push(*v) }.is_ok()).count()
                })
            };
            // Without this yield loom explores a single interleaving when both threads start with
            // atomic loads (loom bug tokio-rs/loom#392); the negative control in the README checks it.
            loom::thread::yield_now();
            let mut seen = Vec::new();
            for _ in 0..2 {
                // SAFETY: the only consumer.
                if let Some(v) = unsafe { ring.pop() } {
                    seen.push(v);
                }
            }
            let accepted = producer.join().unwrap();
            // SAFETY: the only consumer.
            while let Some(v) = unsafe { ring.pop() } {
                seen.push(v);
            }
            assert_eq!(seen.len(), accepted);
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "FIFO order: {seen:?}");
        });
    }
}
