//! The closed sets of values of the data model, with their wire spelling.
//!
//! The same spelling is stored in the database: persistence reads and writes these enums through
//! [`WireEnum`], and a stored value no variant spells is an error, never a silent fallback.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A closed set of values with one text spelling each, on the wire and in the database.
pub trait WireEnum: Copy + Sized + 'static {
    /// What the values are called in messages (`"result status"`).
    const WHAT: &'static str;

    /// The wire (and database) spelling.
    fn as_str(self) -> &'static str;

    /// Parses the wire spelling; `None` for anything else.
    fn parse(text: &str) -> Option<Self>;
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident ($what:literal) { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire (and database) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the wire spelling; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl WireEnum for $name {
            const WHAT: &'static str = $what;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn parse(text: &str) -> Option<Self> {
                $name::parse(text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// Machine-learning framework of a model (decisions.md item 29: nothing else is accepted).
    Framework ("framework") {
        /// TensorFlow / Keras.
        #[default]
        Tf = "tf",
        /// PyTorch.
        Pth = "pth",
    }
}

wire_enum! {
    /// Life cycle of a training result.
    ResultStatus ("result status") {
        /// Created with its deployment; the Job has not fetched its model yet.
        #[default]
        Created = "created",
        /// The training pod fetched its model.
        Deployed = "deployed",
        /// Stopped by a user.
        Stopped = "stopped",
        /// The trained model was uploaded.
        Finished = "finished",
        /// The Kubernetes Job failed.
        Failed = "failed",
    }
}

wire_enum! {
    /// Life cycle of an inference.
    InferenceStatus ("inference status") {
        /// Its ReplicationController runs.
        #[default]
        Deployed = "deployed",
        /// Stopped by a user.
        Stopped = "stopped",
    }
}

wire_enum! {
    /// Encoding of the records of a data stream.
    InputFormat ("input format") {
        /// Raw bytes.
        #[default]
        Raw = "RAW",
        /// Apache Avro.
        Avro = "AVRO",
        /// JSON documents.
        Json = "JSON",
        /// Telegraf's JSON-as-string output.
        TelegrafStrJson = "TELEGRAF_STR_JSON",
    }
}

wire_enum! {
    /// Federated aggregation strategy.
    AggStrategy ("aggregation strategy") {
        /// Federated averaging.
        #[default]
        FedAvg = "FedAvg",
        /// Federated optimisation.
        FedOpt = "FedOpt",
        /// Adagrad on the server.
        FedAdagrad = "FedAdagrad",
        /// Adam on the server.
        FedAdam = "FedAdam",
        /// Yogi on the server.
        FedYogi = "FedYogi",
    }
}

wire_enum! {
    /// What a user may do through the REST API and the admin site (a superuser may do everything,
    /// whatever the stored role says).
    Role ("role") {
        /// Reads everything; changes nothing.
        #[default]
        Viewer = "viewer",
        /// Everything but users and tokens: models, trainings, inferences, devices.
        Operator = "operator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for f in Framework::ALL {
            assert_eq!(Framework::parse(f.as_str()), Some(*f));
        }
        assert_eq!(Framework::parse("keras"), None);
        assert_eq!(InputFormat::parse("TELEGRAF_STR_JSON"), Some(InputFormat::TelegrafStrJson));
        assert_eq!(ResultStatus::Failed.to_string(), "failed");
        assert_eq!(AggStrategy::parse("FedYogi"), Some(AggStrategy::FedYogi));
    }

    /// The OpenAPI schema of each enum lists its wire spellings (`tf`, not the variant's name `Tf`).
    #[test]
    fn schemas_list_the_wire_spellings() {
        fn spellings<T: utoipa::PartialSchema>() -> serde_json::Value {
            serde_json::to_value(T::schema()).unwrap()["enum"].clone()
        }
        assert_eq!(spellings::<Framework>(), serde_json::json!(["tf", "pth"]));
        assert_eq!(spellings::<InputFormat>(), serde_json::json!(["RAW", "AVRO", "JSON", "TELEGRAF_STR_JSON"]));
        assert_eq!(
            spellings::<ResultStatus>(),
            serde_json::json!(["created", "deployed", "stopped", "finished", "failed"])
        );
        assert_eq!(spellings::<AggStrategy>()[0], "FedAvg");
    }
}
