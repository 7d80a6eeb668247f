#![no_main]
// See mlops_edge::fuzz::onnx for what the bytes are.
libfuzzer_sys::fuzz_target!(init: mlops_edge::fuzz::let_the_library_catch_panics(), |data: &[u8]| mlops_edge::fuzz::onnx(data));
