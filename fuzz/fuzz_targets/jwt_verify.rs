//! Fuzz target `jwt_verify`: see `lightapi::__private::fuzz::check_jwt_verify` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lightapi::__private::fuzz::check_jwt_verify(data));
