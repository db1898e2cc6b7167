//! The may_minihttp 0.1 peer (plaintext and JSON only), at may's default
//! number of workers (one per core it may run on: one under `taskset -c 0`).

use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};

use super::handlers::{Message, HELLO};

struct Service;

impl HttpService for Service {
    fn call(&mut self, req: Request<'_, '_, '_>, rsp: &mut Response<'_>) -> std::io::Result<()> {
        match req.path() {
            "/json" => {
                rsp.header("Content-Type: application/json");
                rsp.body_vec(serde_json::to_vec(&Message { message: HELLO })?);
            }
            "/plaintext" => {
                rsp.header("Content-Type: text/plain").body(HELLO);
            }
            _ => {
                rsp.status_code(404, "Not Found");
            }
        }
        Ok(())
    }
}

struct Factory;

impl HttpServiceFactory for Factory {
    type Service = Service;
    fn new_service(&self, _id: usize) -> Service {
        Service
    }
}

/// Serves until killed.
pub fn run(port: u16) -> std::io::Result<()> {
    let server = Factory.start(("127.0.0.1", port))?;
    server
        .join()
        .map_err(|_| std::io::Error::other("may_minihttp server panicked"))
}
