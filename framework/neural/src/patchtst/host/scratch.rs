//! Buffers that the host path's steps reuse on the thread that trains:
//! a step takes its activations and gradients from here and gives them
//! back at its end, so later steps neither allocate, fault in nor zero
//! them again. A taken buffer holds whatever its last user left: callers
//! write every element (a product, an element-wise pass, a fill).

use std::cell::RefCell;

/// Spare buffers kept at most (a step uses a few dozen).
const KEPT: usize = 96;

thread_local! {
    static SPARE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// `n` floats left over from an earlier use: the smallest spare buffer
/// that holds them, else a new one.
pub(super) fn take(n: usize) -> Vec<f32> {
    let mut v = SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        let best = (0..spare.len())
            .filter(|&i| spare[i].capacity() >= n)
            .min_by_key(|&i| spare[i].capacity());
        match best {
            Some(i) => spare.swap_remove(i),
            None => Vec::with_capacity(n),
        }
    });
    // Truncates a longer buffer; zeroes only what it never held.
    v.resize(n, 0.0);
    v
}

/// Keeps `buffers` for later steps.
pub(super) fn give(buffers: impl IntoIterator<Item = Vec<f32>>) {
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        spare.extend(buffers.into_iter().filter(|b| b.capacity() > 0));
        if spare.len() > KEPT {
            spare.sort_by_key(|b| std::cmp::Reverse(b.capacity()));
            spare.truncate(KEPT);
        }
    });
}
