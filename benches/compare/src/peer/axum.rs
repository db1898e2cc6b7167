//! The axum 0.8 peer on tokio's multi-threaded runtime at its defaults (one
//! worker thread per core it may run on: one under `taskset -c 0`), with
//! `TCP_NODELAY` set through `ListenerExt::tap_io` as axum documents (hyper
//! writes each response of a pipelined batch separately; without it they
//! wait for delayed ACKs). The blocking variant calls the store inside
//! `tokio::task::spawn_blocking`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use axum::{Json, Router};

use super::handlers::{self, Message, Reply, HELLO};
use super::model::{NewPerson, Paging, PersonPatch};
use super::store::{Offload, Store};
use super::StoreSpec;

type Shared = State<Arc<Store>>;

/// Blocking stores run inside `tokio::task::spawn_blocking`.
const HOW: Offload = Offload::SpawnBlocking;

fn respond(r: Reply) -> Response {
    let mut resp = match r.body {
        Some(body) => ([(CONTENT_TYPE, "application/json")], body).into_response(),
        None => ().into_response(),
    };
    *resp.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    for (name, value) in [(ETAG, r.etag), (LOCATION, r.location)] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    resp
}

async fn get_one(State(store): Shared, Path(id): Path<i64>) -> Response {
    respond(handlers::get(&store, HOW, id).await)
}

async fn list(State(store): Shared, Query(paging): Query<Paging>) -> Response {
    respond(handlers::list(&store, HOW, &paging).await)
}

async fn create(State(store): Shared, Json(body): Json<NewPerson>) -> Response {
    respond(handlers::create(&store, HOW, body).await)
}

async fn patch(
    State(store): Shared,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<PersonPatch>,
) -> Response {
    let if_match = headers.get(IF_MATCH).and_then(|v| v.to_str().ok());
    respond(handlers::patch(&store, HOW, id, body, if_match).await)
}

async fn delete(State(store): Shared, Path(id): Path<i64>) -> Response {
    respond(handlers::delete(&store, HOW, id).await)
}

fn router(store: Option<Store>) -> Router {
    let basic = Router::new()
        .route(
            "/plaintext",
            get(|| async { ([(CONTENT_TYPE, "text/plain")], HELLO) }),
        )
        .route("/json", get(|| async { Json(Message { message: HELLO }) }));
    match store {
        Some(store) => basic.merge(
            Router::new()
                .route("/person", get(list).post(create))
                .route("/person/{id}", get(get_one).patch(patch).delete(delete))
                .with_state(Arc::new(store)),
        ),
        None => basic,
    }
}

/// Serves until killed, on tokio's multi-threaded runtime at its defaults
/// (what `#[tokio::main]` builds).
pub fn run(port: u16, spec: Option<StoreSpec>) -> Result<(), String> {
    let ready = match &spec {
        Some(spec) => spec.open_now()?,
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let store = match (ready, spec) {
            (Some(store), _) => Some(store),
            (None, Some(spec)) => Some(spec.open_async().await?),
            (None, None) => None,
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, router(store))
            .await
            .map_err(|e| e.to_string())
    })
}
