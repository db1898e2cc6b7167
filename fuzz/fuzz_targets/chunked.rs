//! Fuzz target `chunked`: see `lightapi::__private::fuzz::check_chunked` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lightapi::__private::fuzz::check_chunked(data));
