//! The admin site at `/admin/` (and `/api/admin/` behind the web UI's proxy): Django's admin for
//! Kafka-ML's tables, server-rendered, no JavaScript.
//!
//! | module | what |
//! | --- | --- |
//! | [`auth`] | session cookie, CSRF token, who may see and change what, the errors that end a request |
//! | [`pages`] | the handlers: sign in/out, index, list, add, change, delete, history, actions |
//! | [`tables`] | one module per table: its list, form, deletion and actions, through the use cases |
//! | [`form`] | form fields, submitted forms, errors by field, the REST API's JSON body from a form |
//! | [`list`] | search, filters, ordering and pages of a list |
//! | [`view`] | the askama templates (`crates/api/templates/admin/`) and the HTML answer |
//!
//! Every link and redirect is relative (see [`auth::root_of`]), so the site works wherever it is
//! mounted. Every change goes through the use cases with the signed-in user as
//! [`Actor`](crate::usecase::Actor): the REST API's rules, and the audit trail.

pub mod auth;
pub mod form;
pub mod list;
pub mod pages;
pub mod tables;
pub mod view;

use actix_web::{web, HttpResponse};

/// Registers the admin site under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route(
                "",
                web::get()
                    .to(|| async { HttpResponse::MovedPermanently().insert_header(("Location", "admin/")).finish() }),
            )
            .route("/", web::get().to(pages::index))
            .route("/static/admin.css", web::get().to(pages::stylesheet))
            .route("/login/", web::get().to(pages::login_form))
            .route("/login/", web::post().to(pages::login))
            .route("/logout/", web::post().to(pages::logout))
            .route("/password/", web::get().to(pages::password_form))
            .route("/password/", web::post().to(pages::password))
            .route("/{table}/", web::get().to(pages::list))
            .route("/{table}/", web::post().to(pages::bulk))
            .route("/{table}/add/", web::get().to(pages::add_form))
            .route("/{table}/add/", web::post().to(pages::add))
            .route("/{table}/{id:\\d+}/change/", web::get().to(pages::change_form))
            .route("/{table}/{id:\\d+}/change/", web::post().to(pages::change))
            .route("/{table}/{id:\\d+}/delete/", web::get().to(pages::delete_form))
            .route("/{table}/{id:\\d+}/delete/", web::post().to(pages::delete))
            .route("/{table}/{id:\\d+}/history/", web::get().to(pages::history))
            .route("/{table}/{id:\\d+}/do/{action}/", web::post().to(pages::act))
            .default_service(web::to(pages::not_found)),
    );
}
