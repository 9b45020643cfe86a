//! `HEAD` is safe on every route: the middleware answers `HEAD` with the `GET` handler, so a `GET`
//! with a side effect must check `is_head` itself (`GET /results/<id>` deploys a `created`
//! result, `GET /iot-devices/` probes the devices). This test finds the `GET` paths in the served
//! OpenAPI document, so a new route is covered the day it is registered, sends `HEAD` to each on
//! a seeded database, and asserts that no row of any table and no file changed.

use std::collections::BTreeMap;
use std::path::Path;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use kafkaml_persistence::DbConnection;
use kafkaml_tests::db_test;
use reqwest::Method;
use serde_json::{json, Value};

use crate::results::{deploy, seed_models, upload};

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Every row of every application table (`automl_*`), one text line per row, by table.
fn dump_tables(conn: &mut DbConnection) -> BTreeMap<String, Vec<String>> {
    let columns: Vec<(String, String)> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT m.name || '.' || p.name AS line FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name LIKE 'automl\\_%' ESCAPE '\\' ORDER BY m.name, p.cid",
        )
        .load::<Line>(c),
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT table_name::text || '.' || column_name::text AS line FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name LIKE 'automl\\_%' \
             ORDER BY table_name, ordinal_position",
        )
        .load::<Line>(c),
    }
    .unwrap()
    .into_iter()
    .map(|l| {
        let (table, column) = l.line.split_once('.').unwrap();
        (table.to_owned(), column.to_owned())
    })
    .collect();
    let mut by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column) in columns {
        by_table.entry(table).or_default().push(column);
    }
    assert_eq!(by_table.len(), 8, "{:?}", by_table.keys());
    by_table
        .into_iter()
        .map(|(table, columns)| {
            let line = columns
                .iter()
                .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '<null>')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let query = format!("SELECT {line} AS line FROM {table} ORDER BY id");
            let rows = match conn {
                DbConnection::Sqlite(c) => diesel::sql_query(query).load::<Line>(c),
                DbConnection::Pg(c) => diesel::sql_query(query).load::<Line>(c),
            }
            .unwrap();
            (table, rows.into_iter().map(|l| l.line).collect())
        })
        .collect()
}

/// Every file under `dir` with its contents, by path relative to `dir`.
fn dump_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `template` with each `{token}` replaced by `token` and every other `{…}` by `id`.
fn fill(template: &str, id: i32, token: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{token}" => token.to_owned(),
            s if s.starts_with('{') => id.to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

db_test!(head_on_every_get_path_changes_no_row_and_no_file, |app| async move {
    // Two results of one deployment: #1 stays `created` (its GET would deploy it), #2 is
    // finished with a trained model on disk; an inference of #2 and a device.
    let s = seed_models(
        &app,
        &[("tf1", "tf", "model = tf.keras.Sequential()", false), ("tf2", "tf", "model = tf.keras.Sequential()", false)],
        |_| {},
    );
    let [created, finished] = [s.results[0], s.results[1]];
    deploy(&app, finished).await;
    let metrics = json!({"train_metrics": {"loss": [0.5]}, "val_metrics": {}, "test_metrics": {},
        "confusion_matrix": null, "training_time": 1.5, "indefinite": false});
    assert_eq!(upload(&app, finished, None, &metrics).await.status(), 200);
    app.seed_inference(Some(finished), "deployed", |_| {});
    let device = json!({"friendly_name": "plant", "mqtt_address": "127.0.0.1", "mqtt_port": "1",
        "mqtt_username": "u", "mqtt_password": "p"});
    let res = app.post_json("/iot-devices/", &device).await;
    assert_eq!(res.status(), 201);
    let device: Value = res.json().await.unwrap();
    let token = device["token"].as_str().unwrap().to_owned();

    let doc = app.get_json("/api-docs/openapi.json").await;
    let templates: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item.get("get").is_some())
        .map(|(path, _)| path.clone())
        .collect();
    assert!(templates.len() >= 25, "{templates:?}");
    assert!(templates.contains(&"/results/{id}".to_owned()), "{templates:?}");

    let rows_before = dump_tables(&mut app.db.connect());
    let files_before = dump_files(&app.data_dir);
    assert!(!files_before.is_empty(), "the trained model is on disk");
    let mut answered = Vec::new();
    for template in &templates {
        // Every id of every seeded row (all tables start at 1), so each route finds a row.
        for id in [created, finished] {
            let path = fill(template, id, &token);
            let res = app.client.request(Method::HEAD, app.url(&path)).send().await.unwrap();
            let status = res.status().as_u16();
            assert_eq!(res.bytes().await.unwrap().len(), 0, "HEAD {path} has a body");
            answered.push(format!("{status} HEAD {path}"));
        }
    }
    let rows_after = dump_tables(&mut app.db.connect());
    for (table, rows) in &rows_before {
        assert_eq!(&rows_after[table], rows, "HEAD changed {table}; answers:\n{}", answered.join("\n"));
    }
    assert_eq!(rows_after.len(), rows_before.len());
    assert_eq!(dump_files(&app.data_dir), files_before, "HEAD changed a file; answers:\n{}", answered.join("\n"));
    // HEAD found the rows: the result and the device routes answered 200.
    for ok in [format!("200 HEAD /results/{created}"), format!("200 HEAD /iot-devices/{}", device["id"])] {
        assert!(answered.contains(&ok), "{ok} missing in:\n{}", answered.join("\n"));
    }

    // The dump sees what HEAD must not do: the same request as GET deploys result #1.
    assert_eq!(app.get(&format!("/results/{created}")).await.status(), 200);
    assert_ne!(dump_tables(&mut app.db.connect())["automl_trainingresult"], rows_before["automl_trainingresult"]);
});
