//! CRUD on models: validation of client JSON and backend-agnostic operations.
