DROP TABLE kafkaml_token;
ALTER TABLE kafkaml_user DROP COLUMN role;
