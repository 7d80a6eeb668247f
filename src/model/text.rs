//! Text preprocessing: tokenizer.json through the `tokenizers` crate, with the file's own
//! padding and truncation replaced by the runtime's (MODELS.md pitfall 4).

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{Error, Result, Status};

/// How many bytes of text are looked at per allowed token when the caller does not say
/// (`ModelOptions::max_text_bytes`): 16 bytes per token is ~3× average English.
pub const DEFAULT_TEXT_BYTES_PER_TOKEN: usize = 16;
/// How far back from the byte window's end a whitespace is searched, so that the last word is
/// not cut in half (WordPiece turns words over 100 characters into [UNK] anyway).
const WORD_BOUNDARY_SEARCH: usize = 400;

/// What a caller can do about a tokenizer.json that does not load.
const TOKENIZER_WAY_OUT: &str = "give the tokenizer.json the model was exported with, as the Hugging Face \
     `tokenizers` library writes it (`tokenizer.save(...)`, or `save_pretrained` of a fast tokenizer)";

/// A text input turned into token ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tokens {
    /// Tokens written (special tokens included), at most the maximum sequence length.
    pub count: usize,
    /// True when tokens or text were cut off.
    pub truncated: bool,
}

/// The tokenizer of a text model, configured for the runtime.
pub(crate) struct TextEncoder {
    tokenizer: Tokenizer,
    max_tokens: usize,
    max_text_bytes: usize,
    pad_id: i64,
}

impl TextEncoder {
    /// Parse tokenizer.json and override its padding (none: the runtime pads to its buckets)
    /// and truncation (`max_tokens`, special tokens included).
    pub(crate) fn new(json: &[u8], max_tokens: usize, max_text_bytes: usize) -> Result<TextEncoder> {
        // The tokenizers crate unwraps some nested parse errors (found by fuzzing: a malformed
        // decoder inside a valid JSON document).
        crate::error::without_panics(
            Status::Tokenizer,
            |message| {
                format!("tokenizer.json is invalid (the tokenizers crate panicked reading it: {message}); {TOKENIZER_WAY_OUT}")
            },
            || Self::configured(json, max_tokens, max_text_bytes),
        )
    }

    fn configured(json: &[u8], max_tokens: usize, max_text_bytes: usize) -> Result<TextEncoder> {
        let mut tokenizer = Tokenizer::from_bytes(json).map_err(|e| {
            Error::new(Status::Tokenizer, format!("tokenizer.json is invalid: {e}; {TOKENIZER_WAY_OUT}"))
        })?;
        let pad_id = tokenizer
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| tokenizer.token_to_id("[PAD]"))
            .or_else(|| tokenizer.token_to_id("<pad>"))
            .unwrap_or(0);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| Error::new(Status::Tokenizer, format!("cannot set truncation to {max_tokens} tokens: {e}")))?;
        let encoder = TextEncoder { tokenizer, max_tokens, max_text_bytes, pad_id: i64::from(pad_id) };
        // A tokenizer must produce something for plain text; catch broken files at load.
        let mut probe = vec![0i64; max_tokens];
        encoder.encode("hello world", &mut probe)?;
        Ok(encoder)
    }

    /// The id used for padding positions (masked out).
    pub(crate) fn pad_id(&self) -> i64 {
        self.pad_id
    }

    /// Tokenize `text` into `ids[..count]` (`ids.len()` must be the maximum sequence length).
    ///
    /// Only the first `max_text_bytes` of the text are looked at, cut back to a whitespace when
    /// there is one nearby; that is an exact prefix of the full tokenization whenever the window
    /// holds at least `max_tokens` tokens, which is the normal case.
    pub(crate) fn encode(&self, text: &str, ids: &mut [i64]) -> Result<Tokens> {
        debug_assert_eq!(ids.len(), self.max_tokens);
        let (window, cut) = text_window(text, self.max_text_bytes);
        let encoding = self
            .tokenizer
            .encode_fast(window, true)
            .map_err(|e| Error::new(Status::Tokenizer, format!("tokenization failed: {e}")))?;
        let source = encoding.get_ids();
        let count = source.len().min(ids.len());
        for (slot, &id) in ids.iter_mut().zip(&source[..count]) {
            *slot = i64::from(id);
        }
        let truncated = cut || !encoding.get_overflowing().is_empty() || source.len() > count;
        Ok(Tokens { count, truncated })
    }

    /// The longest text that can matter, for sizing buffers and pools.
    pub(crate) fn max_text_bytes(&self) -> usize {
        self.max_text_bytes
    }
}

/// The part of `text` the tokenizer sees, and whether anything was cut.
fn text_window(text: &str, max_bytes: usize) -> (&str, bool) {
    if text.len() <= max_bytes {
        return (text, false);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let bytes = text.as_bytes();
    let floor = end.saturating_sub(WORD_BOUNDARY_SEARCH);
    if let Some(space) = (floor..end).rev().find(|&i| bytes[i].is_ascii_whitespace()) {
        end = space;
    }
    (&text[..end], true)
}

#[cfg(test)]
mod tests {
    use super::{text_window, TextEncoder};
    use crate::error::Status;

    fn seeds() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/tokenizer")
    }

    fn seed(path: &std::path::Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The small tokenizers the fuzz campaign starts from are valid (they only help it if they load).
    #[test]
    fn the_fuzz_seed_tokenizers_load() {
        let paths: Vec<_> = std::fs::read_dir(seeds()).unwrap().map(|entry| entry.unwrap().path()).collect();
        assert!(paths.len() >= 4, "the small tokenizer seeds: {paths:?}");
        for path in paths {
            let mut ids = [0i64; 16];
            let encoder = TextEncoder::new(seed(&path).as_bytes(), 16, 256)
                .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message()));
            let tokens = encoder.encode("hello world", &mut ids).unwrap();
            assert!(tokens.count > 0, "{}: no token for \"hello world\"", path.display());
        }
    }

    /// Found by the smoke run's mutations and again by the libFuzzer campaign: tokenizers 0.23.2
    /// unwraps a syntax error where the decoder's value starts (`"decoder":@`) or inside the
    /// decoder's object (the campaign's input, kept in fuzz/findings/: a key that lost its closing
    /// quote) and panics; the runtime answers with a tokenizer error.
    #[test]
    fn a_tokenizer_json_that_makes_the_tokenizers_crate_panic_is_a_tokenizer_error() {
        let value = seed(&seeds().join("wordlevel-whitespace.json")).replace(r#""decoder":null"#, r#""decoder":@"#);
        let findings = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/findings");
        let object = seed(&findings.join("tokenizer-decoder-object.json"));
        for broken in [value, object] {
            let error = TextEncoder::new(broken.as_bytes(), 16, 256).err().expect("refused");
            assert_eq!(error.status(), Status::Tokenizer);
            assert!(error.message().contains("tokenizers crate panicked"), "{}", error.message());
        }
    }

    #[test]
    fn window_keeps_short_text() {
        assert_eq!(text_window("short", 10), ("short", false));
    }

    #[test]
    fn window_cuts_at_char_boundary_and_whitespace() {
        let text = "héllo wörld again";
        let (w, cut) = text_window(text, 9);
        assert!(cut);
        assert_eq!(w, "héllo");
        let emoji = "\u{1F525}".repeat(10);
        let (w, cut) = text_window(&emoji, 10);
        assert!(cut);
        assert_eq!(w.len(), 8);
    }
}
