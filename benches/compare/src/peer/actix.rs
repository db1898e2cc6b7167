//! The actix-web 4 peer, at its defaults (`HttpServer` with one worker per
//! core it may run on: one under `taskset -c 0`). The blocking variant
//! calls the store inside `web::block`.

use actix_web::http::header::{ETAG, IF_MATCH, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use super::handlers::{self, Message, Reply, HELLO};
use super::model::{NewPerson, Paging, PersonPatch};
use super::store::{Offload, Store};
use super::StoreSpec;

/// Blocking stores run inside `web::block`.
const HOW: Offload = Offload::WebBlock;

fn respond(r: Reply) -> HttpResponse {
    let mut b = HttpResponse::build(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    if let Some(etag) = r.etag {
        b.insert_header((ETAG, etag));
    }
    if let Some(location) = r.location {
        b.insert_header((LOCATION, location));
    }
    match r.body {
        Some(body) => b.content_type("application/json").body(body),
        None => b.finish(),
    }
}

async fn plaintext() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body(HELLO)
}

async fn json() -> HttpResponse {
    HttpResponse::Ok().json(Message { message: HELLO })
}

async fn get(store: web::Data<Store>, id: web::Path<i64>) -> HttpResponse {
    respond(handlers::get(&store, HOW, id.into_inner()).await)
}

async fn list(store: web::Data<Store>, paging: web::Query<Paging>) -> HttpResponse {
    respond(handlers::list(&store, HOW, &paging).await)
}

async fn create(store: web::Data<Store>, body: web::Json<NewPerson>) -> HttpResponse {
    respond(handlers::create(&store, HOW, body.into_inner()).await)
}

async fn patch(
    req: HttpRequest,
    store: web::Data<Store>,
    id: web::Path<i64>,
    body: web::Json<PersonPatch>,
) -> HttpResponse {
    let if_match = req.headers().get(IF_MATCH).and_then(|v| v.to_str().ok());
    respond(handlers::patch(&store, HOW, id.into_inner(), body.into_inner(), if_match).await)
}

async fn delete(store: web::Data<Store>, id: web::Path<i64>) -> HttpResponse {
    respond(handlers::delete(&store, HOW, id.into_inner()).await)
}

/// Serves until killed. A store that needs the runtime (the async drivers)
/// is opened per worker with `data_factory`, as the TechEmpower entries do;
/// the others are opened once and shared.
pub fn run(port: u16, spec: Option<StoreSpec>) -> Result<(), String> {
    let ready = match &spec {
        Some(spec) => spec.open_now()?.map(web::Data::new),
        None => None,
    };
    let serve = actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let app = App::new()
                .route("/plaintext", web::get().to(plaintext))
                .route("/json", web::get().to(json));
            let app = match (&ready, &spec) {
                (Some(store), _) => app.app_data(store.clone()),
                (None, Some(spec)) => {
                    let spec = spec.clone();
                    app.data_factory(move || {
                        let spec = spec.clone();
                        async move {
                            let opened = spec.open_async().await;
                            if let Err(e) = &opened {
                                eprintln!("peer: cannot open the store: {e}");
                            }
                            opened
                        }
                    })
                }
                (None, None) => return app,
            };
            app.route("/person", web::get().to(list))
                .route("/person", web::post().to(create))
                .route("/person/{id}", web::get().to(get))
                .route("/person/{id}", web::patch().to(patch))
                .route("/person/{id}", web::delete().to(delete))
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    });
    serve.map_err(|e| e.to_string())
}
