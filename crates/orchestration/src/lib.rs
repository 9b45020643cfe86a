//! Kafka-ML orchestration: typed Kubernetes manifests for training Jobs and inference ReplicationControllers, cluster access, Job status watching.
