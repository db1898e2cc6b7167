//! Shared test helpers.
#![allow(dead_code)]

pub mod crud_suite;
pub mod http;
pub mod servers;
