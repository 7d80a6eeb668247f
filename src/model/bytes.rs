//! Byte feature extraction for models whose input is raw bytes (Magika's "v2" scheme).

use crate::card::BytesFeatures;

/// ASCII whitespace as Python's `bytes.strip()` sees it.
fn is_strippable(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Fill `out` (length `features.len()`) with the features of `data`:
/// `[first beg_size bytes, padding…, …padding, last end_size bytes]`.
/// Returns true when bytes of `data` were left out (data longer than what the features cover).
pub(crate) fn extract(features: &BytesFeatures, data: &[u8], out: &mut [i32]) -> bool {
    debug_assert_eq!(out.len(), features.len());
    let window = features.block_size.min(data.len());
    let mut head = &data[..window];
    let mut tail = &data[data.len() - window..];
    if features.strip_whitespace {
        let lead = head.iter().take_while(|b| is_strippable(**b)).count();
        head = &head[lead..];
        let trail = tail.iter().rev().take_while(|b| is_strippable(**b)).count();
        tail = &tail[..tail.len() - trail];
    }
    let head = &head[..head.len().min(features.beg_size)];
    let tail = &tail[tail.len() - tail.len().min(features.end_size)..];
    let (beg_out, end_out) = out.split_at_mut(features.beg_size);
    for (slot, value) in
        beg_out.iter_mut().zip(head.iter().map(|&b| i32::from(b)).chain(std::iter::repeat(features.padding_token)))
    {
        *slot = value;
    }
    let pad = features.end_size - tail.len();
    end_out[..pad].fill(features.padding_token);
    for (slot, &b) in end_out[pad..].iter_mut().zip(tail) {
        *slot = i32::from(b);
    }
    data.len() > features.beg_size + features.end_size
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: BytesFeatures =
        BytesFeatures { beg_size: 4, end_size: 4, block_size: 8, padding_token: 256, strip_whitespace: true };

    fn run(data: &[u8]) -> Vec<i32> {
        let mut out = vec![0; F.len()];
        extract(&F, data, &mut out);
        out
    }

    #[test]
    fn pads_short_inputs_on_the_inner_side() {
        assert_eq!(run(b"ab"), vec![97, 98, 256, 256, 256, 256, 97, 98]);
        assert_eq!(run(b""), vec![256; 8]);
    }

    #[test]
    fn strips_whitespace_like_python() {
        // Leading whitespace goes from the head, trailing from the tail (Python lstrip/rstrip).
        assert_eq!(run(b"  \tab\n "), vec![97, 98, 10, 32, 32, 9, 97, 98]);
        assert_eq!(run(b"\x0b\x0c \r\n"), vec![256; 8]);
    }

    #[test]
    fn takes_first_and_last_within_block() {
        // 12 bytes, block 8: head reads [0..8) = "abcdefgh", tail reads [4..12) = "efghijkl".
        assert_eq!(run(b"abcdefghijkl"), vec![97, 98, 99, 100, 105, 106, 107, 108]);
        // Leading whitespace filling the whole block leaves no head bytes (as Magika does).
        let mut data = vec![b' '; 10];
        data.extend_from_slice(b"xy");
        assert_eq!(run(&data), vec![256, 256, 256, 256, 32, 32, 120, 121]);
    }

    #[test]
    fn no_strip_keeps_whitespace() {
        let f = BytesFeatures { strip_whitespace: false, ..F };
        let mut out = vec![0; f.len()];
        extract(&f, b" a ", &mut out);
        assert_eq!(out, vec![32, 97, 32, 256, 256, 32, 97, 32]);
    }
}
