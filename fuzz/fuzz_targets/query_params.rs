//! Fuzz target `query_params`: see `lightapi::__private::fuzz::check_query_params` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lightapi::__private::fuzz::check_query_params(data));
