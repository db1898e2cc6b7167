//! Fuzz target `parse_head`: see `lightapi::__private::fuzz::check_parse_head` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lightapi::__private::fuzz::check_parse_head(data));
