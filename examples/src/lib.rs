//! Examples of Rust services using the Kafka-ML crates; this library is empty on purpose.
//!
//! Each example is a file of `examples/` that Cargo finds by itself and CI compiles
//! (`cargo clippy --workspace --all-targets`):
//!
//! * `publish_datasource` — publish a datasource control message with `kafkaml-messaging` alone:
//!   `cargo run -p kafkaml-examples --example publish_datasource -- --help`.
//!
//! To add one, see `examples/README.md`.

#![warn(missing_docs)]
