CREATE TABLE automl_mlmodel (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(30) NOT NULL UNIQUE,
    description VARCHAR(100) NOT NULL DEFAULT '',
    imports TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL,
    distributed BOOLEAN NOT NULL DEFAULT 0,
    father_id INTEGER NULL UNIQUE REFERENCES automl_mlmodel(id) ON DELETE SET NULL,
    framework TEXT NOT NULL
);

CREATE TABLE automl_configuration (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(30) NOT NULL UNIQUE,
    description VARCHAR(100) NOT NULL DEFAULT '',
    time TIMESTAMP NOT NULL
);
CREATE INDEX automl_configuration_time ON automl_configuration (time DESC, id DESC);

CREATE TABLE automl_configuration_ml_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    configuration_id INTEGER NOT NULL REFERENCES automl_configuration(id) ON DELETE CASCADE,
    mlmodel_id INTEGER NOT NULL REFERENCES automl_mlmodel(id) ON DELETE CASCADE,
    UNIQUE (configuration_id, mlmodel_id)
);
CREATE INDEX automl_configuration_ml_models_model ON automl_configuration_ml_models (mlmodel_id);

CREATE TABLE automl_deployment (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    batch INTEGER NOT NULL DEFAULT 1,
    tf_kwargs_fit VARCHAR(100) NOT NULL DEFAULT '',
    tf_kwargs_val VARCHAR(100) NOT NULL DEFAULT '',
    pth_kwargs_fit VARCHAR(100) NOT NULL DEFAULT '',
    pth_kwargs_val VARCHAR(100) NOT NULL DEFAULT '',
    conf_mat_settings BOOLEAN NULL DEFAULT 0,
    configuration_id INTEGER NOT NULL REFERENCES automl_configuration(id) ON DELETE CASCADE,
    time TIMESTAMP NOT NULL,
    optimizer TEXT NOT NULL DEFAULT 'adam',
    learning_rate DOUBLE NOT NULL DEFAULT 0.001,
    loss TEXT NOT NULL DEFAULT 'sparse_categorical_crossentropy',
    metrics TEXT NOT NULL DEFAULT 'sparse_categorical_accuracy',
    incremental BOOLEAN NOT NULL DEFAULT 0,
    indefinite BOOLEAN NOT NULL DEFAULT 0,
    stream_timeout INTEGER NULL DEFAULT 60000,
    monitoring_metric TEXT NULL,
    change TEXT NULL,
    improvement DOUBLE NULL DEFAULT 0.05,
    unsupervised BOOLEAN NOT NULL DEFAULT 0,
    unsupervised_rounds INTEGER NULL DEFAULT 5,
    confidence DOUBLE NULL DEFAULT 0.9,
    federated BOOLEAN NOT NULL DEFAULT 0,
    agg_rounds INTEGER NULL DEFAULT 15,
    min_data INTEGER NULL DEFAULT 1000,
    agg_strategy VARCHAR(100) NOT NULL DEFAULT 'FedAvg',
    data_restriction TEXT NULL,
    blockchain BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX automl_deployment_time ON automl_deployment (time DESC, id DESC);
CREATE INDEX automl_deployment_configuration ON automl_deployment (configuration_id);

CREATE TABLE automl_trainingresult (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    status VARCHAR(100) NOT NULL DEFAULT 'created',
    status_changed TIMESTAMP NOT NULL,
    deployment_id INTEGER NOT NULL REFERENCES automl_deployment(id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES automl_mlmodel(id) ON DELETE CASCADE,
    train_metrics TEXT NULL,
    val_metrics TEXT NULL,
    test_metrics TEXT NULL,
    confusion_matrix TEXT NULL,
    training_time DOUBLE NULL,
    trained_model VARCHAR(100) NOT NULL DEFAULT '',
    confusion_mat_img VARCHAR(100) NULL,
    status_reason TEXT NULL
);
CREATE INDEX automl_trainingresult_status_changed ON automl_trainingresult (status_changed DESC, id DESC);
CREATE INDEX automl_trainingresult_deployment ON automl_trainingresult (deployment_id);
CREATE INDEX automl_trainingresult_model ON automl_trainingresult (model_id);

CREATE TABLE automl_datasource (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    input_format VARCHAR(100) NOT NULL DEFAULT 'RAW',
    deployment TEXT NOT NULL,
    input_config TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    topic TEXT NOT NULL,
    total_msg BIGINT NULL,
    validation_rate DOUBLE NULL,
    test_rate DOUBLE NULL,
    time TIMESTAMP NOT NULL
);
CREATE INDEX automl_datasource_time ON automl_datasource (time DESC, id DESC);
CREATE INDEX automl_datasource_deployment ON automl_datasource (deployment);

CREATE TABLE automl_inference (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    status VARCHAR(100) NOT NULL DEFAULT 'deployed',
    status_changed TIMESTAMP NOT NULL,
    model_result_id INTEGER NULL REFERENCES automl_trainingresult(id) ON DELETE SET NULL,
    replicas INTEGER NOT NULL DEFAULT 1,
    input_format VARCHAR(100) NOT NULL DEFAULT 'RAW',
    input_config TEXT NOT NULL DEFAULT '',
    input_topic TEXT NOT NULL DEFAULT '',
    output_topic TEXT NOT NULL DEFAULT '',
    time TIMESTAMP NOT NULL,
    "limit" DOUBLE NULL,
    output_upper TEXT NOT NULL DEFAULT '',
    token TEXT NULL,
    external_host TEXT NULL,
    input_kafka_broker TEXT NULL,
    output_kafka_broker TEXT NULL,
    upper_kafka_broker TEXT NULL
);
CREATE INDEX automl_inference_time ON automl_inference (time DESC, id DESC);
CREATE INDEX automl_inference_model_result ON automl_inference (model_result_id);

CREATE TABLE automl_iotdevice (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token VARCHAR(8) NOT NULL UNIQUE,
    friendly_name VARCHAR(30) NOT NULL UNIQUE,
    mqtt_address TEXT NOT NULL,
    mqtt_port INTEGER NOT NULL,
    mqtt_username TEXT NOT NULL,
    mqtt_password TEXT NOT NULL
);
