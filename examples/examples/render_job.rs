//! Renders the Kubernetes Job of a training case with the orchestration crate alone — no
//! database, no cluster: the Job Kafka-ML would create for a federated incremental TensorFlow
//! training (case 6), printed as JSON.
//!
//! ```text
//! cargo run -p kafkaml-examples --example render_job
//! ```

use kafkaml_domain::rules::TrainingCase;
use kafkaml_domain::settings::DeploymentSettings;
use kafkaml_domain::Framework;
use kafkaml_orchestration::plan::PlannedJob;
use kafkaml_orchestration::training::{
    federated_string_id, training_job, TrainingDeployment, TrainingEnvironment, TrainingUnit,
};

fn main() -> Result<(), serde_json::Error> {
    let env = TrainingEnvironment {
        bootstrap_servers: Some("kafka:9092".to_owned()),
        control_topic: Some("KAFKA_ML_CONTROL_TOPIC".to_owned()),
        backend_url: "http://backend:8000".to_owned(),
        model_logger_topic: "FEDERATED_MODEL_CONTROL_TOPIC".to_owned(),
        ..TrainingEnvironment::default()
    };
    // The reference's defaults, then what a user would change in the web UI's form.
    let mut settings = DeploymentSettings::default();
    settings.fit.batch = 32;
    settings.incremental.incremental = true;
    settings.federated.federated = true;
    settings.federated.agg_rounds = Some(5);
    let deployment = TrainingDeployment { id: 7, settings: &settings, gpumem: 0.0 };
    let unit = TrainingUnit {
        job: PlannedJob {
            case: TrainingCase::SingleFederatedIncremental,
            framework: Framework::Tf,
            result_ids: vec![21],
        },
        image: "kafkaml/tensorflow_model_training:latest".to_owned(),
        kwargs_fit: r#"{"epochs": 5}"#.to_owned(),
        kwargs_val: "{}".to_owned(),
        federated_string_id: federated_string_id(),
    };
    let job = training_job(&env, &deployment, &unit);
    println!("{}", serde_json::to_string_pretty(&job)?);
    Ok(())
}
