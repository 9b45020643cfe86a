DROP TABLE automl_iotdevice;
DROP TABLE automl_inference;
DROP TABLE automl_datasource;
DROP TABLE automl_trainingresult;
DROP TABLE automl_deployment;
DROP TABLE automl_configuration_ml_models;
DROP TABLE automl_configuration;
DROP TABLE automl_mlmodel;
