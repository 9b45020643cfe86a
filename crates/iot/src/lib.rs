//! Kafka-ML IoT: Tasmota devices over MQTT (backlog text, status probe, model push).
