//! Diesel schema, identical on SQLite and PostgreSQL (same SQL types on both backends).

diesel::table! {
    /// Model definitions (Python source code).
    automl_mlmodel (id) {
        /// The model's id.
        id -> Integer,
        /// The model's unique name.
        name -> Text,
        /// Free-text description.
        description -> Text,
        /// Python import lines run before `code`.
        imports -> Text,
        /// The model's Python source code.
        code -> Text,
        /// Whether the model is part of a distributed chain.
        distributed -> Bool,
        /// The upper model of a distributed model, `NULL` for a root.
        father_id -> Nullable<Integer>,
        /// The framework of `code`.
        framework -> Text,
    }
}

diesel::table! {
    /// Configurations: named sets of models.
    automl_configuration (id) {
        /// The configuration's id.
        id -> Integer,
        /// The configuration's unique name.
        name -> Text,
        /// Free-text description.
        description -> Text,
        /// When the configuration was created (UTC).
        time -> Timestamp,
    }
}

diesel::table! {
    /// The links between configurations and their models.
    automl_configuration_ml_models (id) {
        /// The link's id.
        id -> Integer,
        /// The configuration.
        configuration_id -> Integer,
        /// One of its models.
        mlmodel_id -> Integer,
    }
}

diesel::table! {
    /// Deployments: training launches of a configuration, with their settings.
    automl_deployment (id) {
        /// The deployment's id.
        id -> Integer,
        /// The batch size.
        batch -> Integer,
        /// Keyword arguments of `fit` for TensorFlow models, as the client wrote them.
        tf_kwargs_fit -> Text,
        /// Keyword arguments of `evaluate` for TensorFlow models.
        tf_kwargs_val -> Text,
        /// Keyword arguments of training for PyTorch models.
        pth_kwargs_fit -> Text,
        /// Keyword arguments of validation for PyTorch models.
        pth_kwargs_val -> Text,
        /// Whether to generate a confusion matrix (nullable).
        conf_mat_settings -> Nullable<Bool>,
        /// The deployed configuration.
        configuration_id -> Integer,
        /// When the deployment was created (UTC).
        time -> Timestamp,
        /// The optimizer of distributed training.
        optimizer -> Text,
        /// The learning rate of distributed training.
        learning_rate -> Double,
        /// The loss of distributed training.
        loss -> Text,
        /// The metrics of distributed training, comma-separated.
        metrics -> Text,
        /// Whether training is incremental (on a stream).
        incremental -> Bool,
        /// Whether incremental training runs without end.
        indefinite -> Bool,
        /// The stream timeout in milliseconds.
        stream_timeout -> Nullable<Integer>,
        /// The metric watched during incremental training.
        monitoring_metric -> Nullable<Text>,
        /// The direction of improvement of the monitored metric (`up` or `down`).
        change -> Nullable<Text>,
        /// The minimal improvement of the monitored metric.
        improvement -> Nullable<Double>,
        /// Whether training is semi-supervised.
        unsupervised -> Bool,
        /// The rounds of semi-supervised training.
        unsupervised_rounds -> Nullable<Integer>,
        /// The confidence threshold of semi-supervised training.
        confidence -> Nullable<Double>,
        /// Whether training is federated.
        federated -> Bool,
        /// The aggregation rounds of federated training.
        agg_rounds -> Nullable<Integer>,
        /// The minimal data per client of federated training.
        min_data -> Nullable<Integer>,
        /// The aggregation strategy of federated training.
        agg_strategy -> Text,
        /// The data restriction of federated training, a JSON document as text.
        data_restriction -> Nullable<Text>,
        /// Whether federated aggregation is blockchain-based.
        blockchain -> Bool,
    }
}

diesel::table! {
    /// Training results: one model's training within a deployment.
    automl_trainingresult (id) {
        /// The result's id.
        id -> Integer,
        /// Where the training stands.
        status -> Text,
        /// When `status` last changed (UTC).
        status_changed -> Timestamp,
        /// The deployment the training belongs to.
        deployment_id -> Integer,
        /// The trained model.
        model_id -> Integer,
        /// Training metrics, a JSON document as text.
        train_metrics -> Nullable<Text>,
        /// Validation metrics, a JSON document as text.
        val_metrics -> Nullable<Text>,
        /// Test metrics, a JSON document as text.
        test_metrics -> Nullable<Text>,
        /// The confusion matrix, a JSON document as text.
        confusion_matrix -> Nullable<Text>,
        /// The training duration in seconds.
        training_time -> Nullable<Double>,
        /// The trained model's file in the artifact store, `""` before the upload.
        trained_model -> Text,
        /// The confusion-matrix image's file in the artifact store.
        confusion_mat_img -> Nullable<Text>,
        /// Why the result failed.
        status_reason -> Nullable<Text>,
    }
}

diesel::table! {
    /// Datasource announcements logged from the control topic.
    automl_datasource (id) {
        /// The datasource's id (not shown by the API).
        id -> Integer,
        /// Format of the stream's messages, in its wire spelling (`RAW`, `AVRO`, `JSON`, `TELEGRAF_STR_JSON`).
        input_format -> Text,
        /// The deployment id, as text (not a foreign key).
        deployment -> Text,
        /// A JSON document, as text.
        input_config -> Text,
        /// Free-text description of the stream.
        description -> Text,
        /// `topic:partition:offset[:length][,…]`.
        topic -> Text,
        /// Number of messages in the stream.
        total_msg -> Nullable<BigInt>,
        /// Fraction of the messages used for validation.
        validation_rate -> Nullable<Double>,
        /// Fraction of the messages used for testing.
        test_rate -> Nullable<Double>,
        /// When the stream was announced (UTC).
        time -> Timestamp,
    }
}

diesel::table! {
    /// Inference deployments of trained results.
    automl_inference (id) {
        /// The inference's id.
        id -> Integer,
        /// Whether the inference is deployed or stopped.
        status -> Text,
        /// When `status` last changed (UTC).
        status_changed -> Timestamp,
        /// The training result served, `NULL` once it is deleted.
        model_result_id -> Nullable<Integer>,
        /// The number of pod replicas.
        replicas -> Integer,
        /// The encoding of the input records.
        input_format -> Text,
        /// Decoding settings of the input records, a JSON document as text.
        input_config -> Text,
        /// The Kafka topic the inference reads.
        input_topic -> Text,
        /// The Kafka topic the predictions go to.
        output_topic -> Text,
        /// When the inference was created (UTC).
        time -> Timestamp,
        /// The early-exit confidence threshold of distributed models (SQL name `limit`).
        #[sql_name = "limit"]
        limit_ -> Nullable<Double>,
        /// The Kafka topic towards the upper model (distributed early exit).
        output_upper -> Text,
        /// The bearer token of the external cluster (write-only).
        token -> Nullable<Text>,
        /// The API URL of the external cluster, `NULL` for the default cluster.
        external_host -> Nullable<Text>,
        /// Brokers of the input topic, `NULL` for the default ones.
        input_kafka_broker -> Nullable<Text>,
        /// Brokers of the output topic, `NULL` for the default ones.
        output_kafka_broker -> Nullable<Text>,
        /// Brokers of the upper topic, `NULL` for the default ones.
        upper_kafka_broker -> Nullable<Text>,
    }
}

diesel::table! {
    /// Tasmota IoT devices reachable via MQTT.
    automl_iotdevice (id) {
        /// The device's id.
        id -> Integer,
        /// The unique device token.
        token -> Text,
        /// The unique name of the device.
        friendly_name -> Text,
        /// Host name or IP address of the device's MQTT broker.
        mqtt_address -> Text,
        /// Port of the broker.
        mqtt_port -> Integer,
        /// User name on the broker.
        mqtt_username -> Text,
        /// Password on the broker.
        mqtt_password -> Text,
    }
}

diesel::table! {
    /// Accounts of the admin site.
    kafkaml_user (id) {
        /// The user's id.
        id -> Integer,
        /// The unique sign-in name.
        username -> Text,
        /// The e-mail address (may be empty).
        email -> Text,
        /// The password as an argon2id PHC string.
        password -> Text,
        /// Whether the user may sign in at all.
        is_active -> Bool,
        /// Whether the user may enter the admin site.
        is_staff -> Bool,
        /// Whether the user has every permission, including managing users.
        is_superuser -> Bool,
        /// When the account was created (UTC).
        date_joined -> Timestamp,
        /// When the user last signed in (UTC).
        last_login -> Nullable<Timestamp>,
        /// What the user may do through the API: `viewer` or `operator` (superusers may do everything).
        role -> Text,
    }
}

diesel::table! {
    /// API tokens: each belongs to a user and acts with that user's role.
    kafkaml_token (id) {
        /// The token's id.
        id -> Integer,
        /// The user the token acts for.
        user_id -> Integer,
        /// What the token is for, as its owner named it.
        name -> Text,
        /// The key's first characters, to recognise it in lists.
        key_prefix -> Text,
        /// SHA-256 of the key, in hexadecimal.
        key_hash -> Text,
        /// When the token was created (UTC).
        created -> Timestamp,
        /// When the token stops working (UTC), if ever.
        expires -> Nullable<Timestamp>,
        /// When the token was last used (UTC; updated at most once a minute).
        last_used -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Server-side sessions of the admin site.
    kafkaml_session (key_hash) {
        /// The keyed hash of the session cookie's value.
        key_hash -> Text,
        /// The signed-in user.
        user_id -> Integer,
        /// When the session started (UTC).
        created -> Timestamp,
        /// When the session ends (UTC).
        expires -> Timestamp,
    }
}

diesel::table! {
    /// The audit trail: every change made through the admin site.
    kafkaml_audit (id) {
        /// The entry's id.
        id -> Integer,
        /// When the change was made (UTC).
        time -> Timestamp,
        /// The user who made it (`NULL` once the user is deleted).
        user_id -> Nullable<Integer>,
        /// Who made it, in words that outlive the user.
        actor -> Text,
        /// What was done: `add`, `change`, `delete`, `stop`, …
        action -> Text,
        /// The kind of object (the admin's table name).
        object_kind -> Text,
        /// The object's id.
        object_id -> Nullable<Integer>,
        /// How the object was shown when it changed.
        object_repr -> Text,
        /// The names of the changed fields, comma-separated.
        changed_fields -> Text,
    }
}

diesel::joinable!(automl_configuration_ml_models -> automl_configuration (configuration_id));
diesel::joinable!(automl_configuration_ml_models -> automl_mlmodel (mlmodel_id));
diesel::joinable!(automl_deployment -> automl_configuration (configuration_id));
diesel::joinable!(automl_trainingresult -> automl_deployment (deployment_id));
diesel::joinable!(automl_trainingresult -> automl_mlmodel (model_id));
diesel::joinable!(automl_inference -> automl_trainingresult (model_result_id));
diesel::joinable!(kafkaml_session -> kafkaml_user (user_id));
diesel::joinable!(kafkaml_token -> kafkaml_user (user_id));
diesel::joinable!(kafkaml_audit -> kafkaml_user (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    automl_mlmodel,
    automl_configuration,
    automl_configuration_ml_models,
    automl_deployment,
    automl_trainingresult,
    automl_datasource,
    automl_inference,
    automl_iotdevice,
    kafkaml_user,
    kafkaml_session,
    kafkaml_audit,
    kafkaml_token,
);
