//! Mounts the whole Kafka-ML API inside another actix-web application, under `/kafkaml`.
//!
//! The host application keeps its own routes and middleware; [`kafkaml_api::Api`] opens the
//! back-end's database (migrating it) and stores, and registers the API's routes on a scope.
//! Everything comes from the back-end's settings (its environment variables, e.g.
//! `DATABASE_URL`, `KAFKAML_DATA_DIR`); the outside services are the real ones here, and any of
//! them can be replaced by another implementation of its trait.
//!
//! ```text
//! cargo run -p kafkaml-examples --example embed_api
//! curl http://127.0.0.1:8090/kafkaml/models
//! ```

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use clap::Parser;
use kafkaml_api::{Api, Services, Settings};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse_from(["embed_api"]);
    let services = Services::from_settings(&settings).await.context("starting the outside services")?;
    let (api, _watcher) = Api::open(&settings, services).await.context("opening the Kafka-ML API")?;
    HttpServer::new(move || {
        let api = api.clone();
        App::new()
            .route("/", web::get().to(|| async { HttpResponse::Ok().body("the host application") }))
            .service(api.scope("/kafkaml"))
    })
    .bind(("127.0.0.1", 8090))
    .context("binding 127.0.0.1:8090")?
    .run()
    .await
    .context("serving")
}
