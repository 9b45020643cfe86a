//! Diesel schema, identical on SQLite and PostgreSQL (same SQL types on both backends).

diesel::table! {
    automl_mlmodel (id) {
        id -> Integer,
        name -> Text,
        description -> Text,
        imports -> Text,
        code -> Text,
        distributed -> Bool,
        father_id -> Nullable<Integer>,
        framework -> Text,
    }
}

diesel::table! {
    automl_configuration (id) {
        id -> Integer,
        name -> Text,
        description -> Text,
        time -> Timestamp,
    }
}

diesel::table! {
    automl_configuration_ml_models (id) {
        id -> Integer,
        configuration_id -> Integer,
        mlmodel_id -> Integer,
    }
}

diesel::table! {
    automl_deployment (id) {
        id -> Integer,
        batch -> Integer,
        tf_kwargs_fit -> Text,
        tf_kwargs_val -> Text,
        pth_kwargs_fit -> Text,
        pth_kwargs_val -> Text,
        conf_mat_settings -> Nullable<Bool>,
        configuration_id -> Integer,
        time -> Timestamp,
        optimizer -> Text,
        learning_rate -> Double,
        loss -> Text,
        metrics -> Text,
        incremental -> Bool,
        indefinite -> Bool,
        stream_timeout -> Nullable<Integer>,
        monitoring_metric -> Nullable<Text>,
        change -> Nullable<Text>,
        improvement -> Nullable<Double>,
        unsupervised -> Bool,
        unsupervised_rounds -> Nullable<Integer>,
        confidence -> Nullable<Double>,
        federated -> Bool,
        agg_rounds -> Nullable<Integer>,
        min_data -> Nullable<Integer>,
        agg_strategy -> Text,
        data_restriction -> Nullable<Text>,
        blockchain -> Bool,
    }
}

diesel::table! {
    automl_trainingresult (id) {
        id -> Integer,
        status -> Text,
        status_changed -> Timestamp,
        deployment_id -> Integer,
        model_id -> Integer,
        train_metrics -> Nullable<Text>,
        val_metrics -> Nullable<Text>,
        test_metrics -> Nullable<Text>,
        confusion_matrix -> Nullable<Text>,
        training_time -> Nullable<Double>,
        trained_model -> Text,
        confusion_mat_img -> Nullable<Text>,
        status_reason -> Nullable<Text>,
    }
}

diesel::table! {
    automl_datasource (id) {
        id -> Integer,
        input_format -> Text,
        deployment -> Text,
        input_config -> Text,
        description -> Text,
        topic -> Text,
        total_msg -> Nullable<BigInt>,
        validation_rate -> Nullable<Double>,
        test_rate -> Nullable<Double>,
        time -> Timestamp,
    }
}

diesel::table! {
    automl_inference (id) {
        id -> Integer,
        status -> Text,
        status_changed -> Timestamp,
        model_result_id -> Nullable<Integer>,
        replicas -> Integer,
        input_format -> Text,
        input_config -> Text,
        input_topic -> Text,
        output_topic -> Text,
        time -> Timestamp,
        #[sql_name = "limit"]
        limit_ -> Nullable<Double>,
        output_upper -> Text,
        token -> Nullable<Text>,
        external_host -> Nullable<Text>,
        input_kafka_broker -> Nullable<Text>,
        output_kafka_broker -> Nullable<Text>,
        upper_kafka_broker -> Nullable<Text>,
    }
}

diesel::table! {
    automl_iotdevice (id) {
        id -> Integer,
        token -> Text,
        friendly_name -> Text,
        mqtt_address -> Text,
        mqtt_port -> Integer,
        mqtt_username -> Text,
        mqtt_password -> Text,
    }
}

diesel::joinable!(automl_configuration_ml_models -> automl_configuration (configuration_id));
diesel::joinable!(automl_configuration_ml_models -> automl_mlmodel (mlmodel_id));
diesel::joinable!(automl_deployment -> automl_configuration (configuration_id));
diesel::joinable!(automl_trainingresult -> automl_deployment (deployment_id));
diesel::joinable!(automl_trainingresult -> automl_mlmodel (model_id));
diesel::joinable!(automl_inference -> automl_trainingresult (model_result_id));

diesel::allow_tables_to_appear_in_same_query!(
    automl_mlmodel,
    automl_configuration,
    automl_configuration_ml_models,
    automl_deployment,
    automl_trainingresult,
    automl_datasource,
    automl_inference,
    automl_iotdevice,
);
