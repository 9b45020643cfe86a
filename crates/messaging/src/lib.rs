//! Kafka-ML messaging: the Kafka control topic publisher and the prediction-stream subscriber.
