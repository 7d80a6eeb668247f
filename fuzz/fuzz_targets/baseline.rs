#![no_main]
// See mlops_edge::fuzz::baseline for what the bytes are.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_edge::fuzz::baseline(data));
