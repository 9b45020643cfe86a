DROP TABLE kafkaml_audit;
DROP TABLE kafkaml_session;
DROP TABLE kafkaml_user;
