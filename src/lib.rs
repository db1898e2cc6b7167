//! lightapi: declare a database model, get a complete, secure, fast REST API.

pub mod auth;
