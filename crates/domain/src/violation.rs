//! The business rules that refuse a change, as typed values.
//!
//! Whoever enforces a rule — a repository inside its transaction, or a use case before it calls
//! an outside service — returns a [`Violation`]; its `Display` is the sentence users read. This is
//! the one place those sentences are written (the REST API answers them as `400` text, and any
//! other door — a command, the admin site — shows the same words).

use crate::enums::{InferenceStatus, ResultStatus};

/// The kinds of objects that carry a unique, user-chosen name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// A model definition.
    Model,
    /// A configuration.
    Configuration,
    /// An IoT device (its friendly name).
    IotDevice,
    /// A user of the admin site (its username).
    User,
}

/// A rule of the data model or of a workflow that refused a request. Nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Violation {
    /// Another object of the kind already has that name.
    #[error("{} named '{name}' already exists.", match .kind {
        Named::Model => "A model",
        Named::Configuration => "A configuration",
        Named::IotDevice => "An IoT device",
        Named::User => "A user",
    })]
    NameTaken {
        /// The kind of object.
        kind: Named,
        /// The name asked for.
        name: String,
    },
    /// A model referenced by a configuration does not exist.
    #[error("Model {0} does not exist.")]
    ModelMissing(i64),
    /// The father given to a model does not exist (or is not distributed).
    #[error("Father model {0} does not exist.")]
    FatherMissing(i64),
    /// A model was given itself as father.
    #[error("A model can not be its own father.")]
    OwnFather,
    /// The father already has another child.
    #[error("Model {father} is already the father of model {child}.")]
    FatherTaken {
        /// The father asked for.
        father: i32,
        /// Its present child.
        child: i32,
    },
    /// A model was given as father twice in one request.
    #[error("Model {0} is already the father of another model.")]
    FatherGivenTwice(i64),
    /// The father descends from the model: the chain would close into a loop.
    #[error("Model {father} can not be the father of model {model}: it descends from it.")]
    FatherDescends {
        /// The father asked for.
        father: i32,
        /// The model being changed.
        model: i32,
    },
    /// A model is part of a configuration.
    #[error("Model cannot be deleted since it is used in a configuration. Consider to delete the configuration.")]
    ModelInUse,
    /// A configuration has deployments.
    #[error("Configuration cannot be deleted since it is used by a deployment. Consider to delete the deployment.")]
    ConfigurationInUse,
    /// The configuration of a deployment does not exist.
    #[error("Configuration {0} does not exist.")]
    ConfigurationMissing(i64),
    /// A deployment still has training results.
    #[error("Deployment cannot be deleted. Please delete its training results first.")]
    DeploymentHasResults,
    /// A training result is created or deployed.
    #[error("Training result in use, please stop it before delete.")]
    ResultInUse,
    /// An inference is deployed.
    #[error("Inference in use, please stop it before delete.")]
    InferenceInUse,
    /// Only `created` and `deployed` results can be stopped.
    #[error(
        "The training result is not running (its status is {0}): only created or deployed results can be stopped."
    )]
    ResultNotRunning(ResultStatus),
    /// Training pods upload results and metrics only while the training runs.
    #[error(
        "The training result is not running (its status is {0}): only created or deployed results accept \
         uploads and metrics."
    )]
    ResultNotAcceptingUploads(ResultStatus),
    /// `"indefinite": true` uploads (each adds a result) belong to indefinite incremental trainings.
    #[error(
        "Deployment {0} is not an indefinite incremental training: its results do not accept \"indefinite\" \
         uploads."
    )]
    NotIndefinite(i32),
    /// A deployment has as many results as allowed.
    #[error("Deployment {deployment} already has {max} results, the most KAFKAML_MAX_RESULTS_PER_DEPLOYMENT allows.")]
    TooManyResults {
        /// The deployment.
        deployment: i32,
        /// The limit.
        max: u32,
    },
    /// Only `finished` results can serve inferences.
    #[error("The training result is not finished (its status is {0}): only trained models can serve inferences.")]
    ResultNotFinished(ResultStatus),
    /// Only `deployed` inferences can be stopped.
    #[error("The inference is not running (its status is {0}).")]
    InferenceNotRunning(InferenceStatus),
    /// The upload of a deployment that generates confusion matrices lacks the image.
    #[error(
        "The confusion matrix image (file field 'confussion_matrix') is required: the deployment generates \
         confusion matrices and test metrics were sent."
    )]
    ConfusionMatrixImageMissing,
    /// Indefinite incremental training watches a metric the models' code does not use.
    #[error("Monitoring metric does not match.")]
    MonitoringMetricMismatch,
    /// Federated training of a configuration holding PyTorch models: Kafka-ML's PyTorch training
    /// image trains only classic (case 1) Jobs.
    #[error(
        "Federated training is only available for TensorFlow models: the configuration holds the PyTorch model {0:?}."
    )]
    FederatedPyTorch(String),
    /// An executor found the kwargs of a framework invalid.
    #[error("Some {0} arguments are not valid.")]
    KwargsRefused(&'static str),
    /// Only TensorFlow models can be converted for microcontrollers.
    #[error("Only TensorFlow models can be converted to TFLite; result {0} holds a PyTorch model.")]
    NotTensorFlow(i32),
    /// Another IoT device has that token.
    #[error("An IoT device with the token '{0}' already exists.")]
    DeviceTokenTaken(String),
    /// A device token must be 8 hexadecimal characters.
    #[error("'{0}' is not a device token (8 hexadecimal characters).")]
    NotADeviceToken(String),
    /// Token generation kept colliding.
    #[error("No free device token could be generated; try again.")]
    NoFreeDeviceToken,
    /// A value of the request is invalid (the message says which and why).
    #[error("{0}")]
    Invalid(String),
    /// A username must be short and made of letters, digits and `@.+-_`.
    #[error("Enter a valid username: 1 to 150 letters, digits and @/./+/-/_ characters.")]
    UsernameInvalid,
    /// A password is shorter than the policy allows.
    #[error("This password is too short. It must contain at least {0} characters.")]
    PasswordTooShort(usize),
    /// A password is on the list of common passwords.
    #[error("This password is too common.")]
    PasswordTooCommon,
    /// A password is made of digits only.
    #[error("This password is entirely numeric.")]
    PasswordNumeric,
    /// A password contains the username or the e-mail's name, or is contained in them.
    #[error("The password is too similar to the {0}.")]
    PasswordTooSimilar(&'static str),
    /// The two passwords typed differ.
    #[error("The two password fields didn't match.")]
    PasswordMismatch,
    /// A change would leave no active superuser to manage the site.
    #[error("The last active superuser can not be deactivated, demoted or deleted.")]
    LastSuperuser,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_the_reference_ones() {
        assert_eq!(
            Violation::NameTaken { kind: Named::Configuration, name: "c".into() }.to_string(),
            "A configuration named 'c' already exists."
        );
        assert_eq!(
            Violation::NameTaken { kind: Named::IotDevice, name: "d".into() }.to_string(),
            "An IoT device named 'd' already exists."
        );
        assert_eq!(
            Violation::FatherTaken { father: 1, child: 2 }.to_string(),
            "Model 1 is already the father of model 2."
        );
        assert_eq!(
            Violation::ResultNotRunning(ResultStatus::Finished).to_string(),
            "The training result is not running (its status is finished): only created or deployed results can be \
             stopped."
        );
        assert_eq!(Violation::KwargsRefused("TensorFlow").to_string(), "Some TensorFlow arguments are not valid.");
        assert_eq!(
            Violation::ResultNotAcceptingUploads(ResultStatus::Stopped).to_string(),
            "The training result is not running (its status is stopped): only created or deployed results accept \
             uploads and metrics."
        );
        assert_eq!(
            Violation::NotIndefinite(3).to_string(),
            "Deployment 3 is not an indefinite incremental training: its results do not accept \"indefinite\" uploads."
        );
        assert_eq!(
            Violation::TooManyResults { deployment: 3, max: 2 }.to_string(),
            "Deployment 3 already has 2 results, the most KAFKAML_MAX_RESULTS_PER_DEPLOYMENT allows."
        );
    }
}
