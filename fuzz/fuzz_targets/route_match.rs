//! Fuzz target `route_match`: see `lightapi::__private::fuzz::check_route_match` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lightapi::__private::fuzz::check_route_match(data));
