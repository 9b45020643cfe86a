//! One module per resource; [`configure`] registers every route (documented through utoipa).

pub mod configurations;
pub mod datasources;
pub mod deployments;
pub mod health;
pub mod inference_deploy;
pub mod inferences;
pub mod iot;
pub mod kafka;
pub mod models;
pub mod results;
pub mod training;
mod training_input;
mod training_jobs;
pub mod ws;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every route at its canonical path (no `/api` prefix, no trailing slash: the
/// normalising middleware maps the other spellings onto these). Fixed paths come before `{id}`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        // models
        .service(models::list_models)
        .service(models::create_model)
        .service(models::list_distributed)
        .service(models::list_fathers)
        .service(models::model_of_result)
        .service(models::get_model)
        .service(models::update_model)
        .service(models::patch_model)
        .service(models::delete_model)
        // configurations
        .service(configurations::list_configurations)
        .service(configurations::create_configuration)
        .service(configurations::get_configuration)
        .service(configurations::update_configuration)
        .service(configurations::patch_configuration)
        .service(configurations::delete_configuration)
        .service(configurations::frameworks_in_configuration)
        .service(configurations::distributed_configuration)
        // deployments
        .service(deployments::list_deployments)
        .service(training::create_deployment)
        .service(deployments::results_of_deployment)
        .service(deployments::deployments_of_configuration)
        .service(deployments::delete_deployment)
        // results
        .service(results::list_results)
        .service(results::download_model)
        .service(results::download_confusion_matrix)
        .service(results::chart)
        .service(training::stop_training)
        .service(inferences::inference_info)
        .service(inference_deploy::deploy_inference)
        .service(results::model_for_training)
        .service(results::upload_result)
        .service(results::delete_result)
        .service(results::update_metrics)
        // inferences
        .service(inferences::list_inferences)
        .service(inferences::get_inference)
        .service(inference_deploy::stop_inference)
        .service(inferences::delete_inference)
        // datasources
        .service(datasources::list_datasources)
        .service(datasources::create_datasource)
        // IoT devices
        .service(iot::list_devices)
        .service(iot::create_device)
        .service(iot::download_model)
        .service(iot::download_script)
        .service(iot::get_device)
        .service(iot::update_device)
        .service(iot::patch_device)
        .service(iot::delete_device)
        .service(iot::deploy_to_devices)
        // datasources to Kafka
        .service(kafka::publish_datasource)
        // live predictions (WebSocket)
        .service(ws::predictions_socket);
}
