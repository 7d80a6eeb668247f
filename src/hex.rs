//! Lowercase hex text for bytes, and back: keys, signatures and hashes of model packages, the
//! byte inputs of self-test cases.

/// Lowercase hex.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(DIGITS[(b >> 4) as usize] as char);
        text.push(DIGITS[(b & 15) as usize] as char);
    }
    text
}

/// The bytes of hex text (pairs of digits, either case), else `None` (an odd length, or anything
/// but a digit: no sign, no space).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    let value = |d: u8| (d as char).to_digit(16).map(|v| v as u8);
    digits.chunks_exact(2).map(|pair| Some(value(pair[0])? << 4 | value(pair[1])?)).collect()
}

/// Exactly `N` bytes from `2 * N` hex digits, else `None`.
pub fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    decode(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(encode(&[0x0a, 0xff, 0x10]), "0aff10");
        assert_eq!(decode("0aFf10"), Some(vec![0x0a, 0xff, 0x10]));
        assert_eq!(decode(""), Some(vec![]));
        for bad in ["0", "zz", "+1", " 1", "0a0"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
        assert_eq!(decode_array::<2>("0aff"), Some([0x0a, 0xff]));
        assert_eq!(decode_array::<2>("0aff10"), None);
    }
}
