//! Concurrency without 500s (security review M6): many clients writing the same table at once get
//! 2xx, or 503 with `Retry-After` when the database stays busy, and the rows and files stay
//! consistent with the answers.

use futures::future::join_all;
use kafkaml_tests::{db_test, TestApp};
use serde_json::json;

/// The statuses (and `Retry-After` of every 503) of `n` concurrent calls of `call`.
async fn statuses<F, Fut>(n: usize, call: F) -> Vec<u16>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    join_all((0..n).map(|i| {
        let res = call(i);
        async move {
            let res = res.await.unwrap();
            let status = res.status().as_u16();
            if status == 503 {
                assert_eq!(res.headers()["retry-after"], "1");
            }
            status
        }
    }))
    .await
}

fn device_ids(app: &TestApp) -> Vec<i32> {
    let mut conn = app.db.connect();
    kafkaml_persistence::repo::iot_devices::list(&mut conn).unwrap().into_iter().map(|d| d.id).collect()
}

/// The production pool size: several connections race for the write lock.
fn production_pool(settings: &mut kafkaml_api::Settings) {
    settings.database.pool_size = 8;
}

db_test!(two_hundred_concurrent_device_writes_never_answer_500, settings = production_pool, |app| async move {
    // The review's request: 200 creates, 50 clients at a time (here: all at once).
    let created = statuses(200, |i| {
        let body = json!({"friendly_name": format!("c{i}"), "mqtt_address": "127.0.0.1", "mqtt_port": 18883,
                          "mqtt_username": "u", "mqtt_password": "p"});
        app.client.post(app.url("/iot-devices/")).json(&body).send()
    })
    .await;
    assert!(created.iter().all(|s| [201, 503].contains(s)), "{created:?}");
    let ids = device_ids(&app);
    assert_eq!(ids.len(), created.iter().filter(|s| **s == 201).count());
    assert!(ids.len() >= 100, "most creates succeed: {created:?}");
    let folders = std::fs::read_dir(app.data_dir.join("devices")).unwrap().count();
    assert_eq!(folders, ids.len(), "one folder per device");

    let renamed = statuses(ids.len(), |i| {
        app.client
            .patch(app.url(&format!("/iot-devices/{}", ids[i])))
            .json(&json!({"friendly_name": format!("d{i}")}))
            .send()
    })
    .await;
    assert!(renamed.iter().all(|s| [200, 503].contains(s)), "{renamed:?}");

    let deleted = statuses(ids.len(), |i| app.client.delete(app.url(&format!("/iot-devices/{}", ids[i]))).send()).await;
    assert!(deleted.iter().all(|s| [204, 503].contains(s)), "{deleted:?}");
    let left = device_ids(&app);
    assert_eq!(left.len(), deleted.iter().filter(|s| **s == 503).count());
    let folders = std::fs::read_dir(app.data_dir.join("devices")).unwrap().count();
    assert_eq!(folders, left.len(), "no orphan folder");
});
