//! One module per resource; [`configure`] registers every route (documented through utoipa).

pub mod configurations;
pub mod datasources;
pub mod deployments;
pub mod health;
pub mod inferences;
pub mod iot;
pub mod kafka;
pub mod models;
pub mod results;
pub mod ws;

use actix_web::dev::HttpServiceFactory;
use utoipa_actix_web::OpenApiFactory;

/// Where [`configure`] registers the routes: actix-web's own `ServiceConfig` (what each server
/// worker uses: no OpenAPI work per worker) or utoipa-actix-web's, which also collects every
/// handler's OpenAPI path (what [`crate::openapi::document`] builds the document from, once).
pub trait RouteSink {
    /// Registers one documented handler.
    fn handler<F: HttpServiceFactory + OpenApiFactory + 'static>(&mut self, handler: F) -> &mut Self;
}

impl RouteSink for actix_web::web::ServiceConfig {
    fn handler<F: HttpServiceFactory + OpenApiFactory + 'static>(&mut self, handler: F) -> &mut Self {
        self.service(handler)
    }
}

impl RouteSink for utoipa_actix_web::service_config::ServiceConfig<'_> {
    fn handler<F: HttpServiceFactory + OpenApiFactory + 'static>(&mut self, handler: F) -> &mut Self {
        self.service(handler)
    }
}

/// Registers every route at its canonical path (no `/api` prefix, no trailing slash: the
/// normalising middleware maps the other spellings onto these). Fixed paths come before `{id}`.
pub fn configure<C: RouteSink>(cfg: &mut C) {
    cfg.handler(health::healthz)
        .handler(health::readyz)
        // models
        .handler(models::list_models)
        .handler(models::create_model)
        .handler(models::list_distributed)
        .handler(models::list_fathers)
        .handler(models::model_of_result)
        .handler(models::get_model)
        .handler(models::update_model)
        .handler(models::patch_model)
        .handler(models::delete_model)
        // configurations
        .handler(configurations::list_configurations)
        .handler(configurations::create_configuration)
        .handler(configurations::get_configuration)
        .handler(configurations::update_configuration)
        .handler(configurations::patch_configuration)
        .handler(configurations::delete_configuration)
        .handler(configurations::frameworks_in_configuration)
        .handler(configurations::distributed_configuration)
        // deployments
        .handler(deployments::list_deployments)
        .handler(deployments::create_deployment)
        .handler(deployments::results_of_deployment)
        .handler(deployments::deployments_of_configuration)
        .handler(deployments::delete_deployment)
        // results
        .handler(results::list_results)
        .handler(results::download_model)
        .handler(results::download_confusion_matrix)
        .handler(results::chart)
        .handler(results::stop_training)
        .handler(inferences::inference_info)
        .handler(inferences::deploy_inference)
        .handler(results::model_for_training)
        .handler(results::upload_result)
        .handler(results::delete_result)
        .handler(results::update_metrics)
        // inferences
        .handler(inferences::list_inferences)
        .handler(inferences::get_inference)
        .handler(inferences::stop_inference)
        .handler(inferences::delete_inference)
        // datasources
        .handler(datasources::list_datasources)
        .handler(datasources::create_datasource)
        // IoT devices
        .handler(iot::list_devices)
        .handler(iot::create_device)
        .handler(iot::download_model)
        .handler(iot::download_script)
        .handler(iot::get_device)
        .handler(iot::update_device)
        .handler(iot::patch_device)
        .handler(iot::delete_device)
        .handler(iot::deploy_to_devices)
        // datasources to Kafka
        .handler(kafka::publish_datasource)
        // live predictions (WebSocket)
        .handler(ws::predictions_socket);
}
