//! Fuzz target `conn_bytes`: see `lightapi::__private::fuzz::check_conn_bytes` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lightapi::__private::fuzz::check_conn_bytes(data));
