//! lightapi: declare a database model, get a complete, secure, fast REST API.

pub mod backend;
pub mod crud;
pub mod model;
