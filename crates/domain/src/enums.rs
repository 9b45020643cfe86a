//! The closed sets of values of the data model, with their wire spelling.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
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

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// Machine-learning framework of a model (design §3 item 29: nothing else is accepted).
    Framework {
        /// TensorFlow / Keras.
        #[default]
        Tf = "tf",
        /// PyTorch.
        Pth = "pth",
    }
}

wire_enum! {
    /// Life cycle of a training result.
    ResultStatus {
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
    InferenceStatus {
        /// Its ReplicationController runs.
        #[default]
        Deployed = "deployed",
        /// Stopped by a user.
        Stopped = "stopped",
    }
}

wire_enum! {
    /// Encoding of the records of a data stream.
    InputFormat {
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
    AggStrategy {
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
}
