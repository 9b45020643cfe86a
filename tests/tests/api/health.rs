//! `/healthz` (the process answers) and `/readyz` (the database answers), as the container
//! health check and the Kubernetes probes use them.

use std::time::{Duration, Instant};

use kafkaml_api::routes::health::READY_DEADLINE;
use kafkaml_tests::{db_test, postgres_server_addr, postgres_url_via, DbKind, TcpProxy, TestApp};

db_test!(health_endpoints_answer_whatever_the_host, |app| async move {
    // Kubelet probes send the pod IP as Host, which ALLOWED_HOSTS does not list.
    for host in ["localhost", "10.42.0.17:8000"] {
        let res = app.client.get(app.url("/healthz")).header("host", host).send().await.unwrap();
        assert_eq!(res.status(), 200, "/healthz with Host {host}");
        assert_eq!(res.text().await.unwrap(), "ok");
        let res = app.client.get(app.url("/readyz")).header("host", host).send().await.unwrap();
        assert_eq!(res.status(), 200, "/readyz with Host {host}");
        assert_eq!(res.text().await.unwrap(), "ready");
    }
    let res = app.client.get(app.url("/models/")).header("host", "10.42.0.17:8000").send().await.unwrap();
    assert_eq!(res.status(), 400, "other routes still check the Host header");
});

db_test!(the_healthcheck_command_succeeds_against_a_live_server, |app| async move {
    let bind = app.address.trim_start_matches("http://").to_owned();
    kafkaml_api::healthcheck::probe(&bind, "/healthz", Duration::from_secs(3)).await.unwrap();
});

#[tokio::test]
async fn the_healthcheck_command_fails_when_nothing_answers_or_the_status_is_not_200() {
    // A port that was just free: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err =
        kafkaml_api::healthcheck::probe(&closed.to_string(), "/healthz", Duration::from_secs(2)).await.unwrap_err();
    assert!(matches!(err, kafkaml_api::healthcheck::HealthcheckError::Io { .. }), "{err}");

    // A server that answers, but not 200.
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let bind = app.address.trim_start_matches("http://").to_owned();
    let err = kafkaml_api::healthcheck::probe(&bind, "/no-such-route", Duration::from_secs(3)).await.unwrap_err();
    assert!(matches!(err, kafkaml_api::healthcheck::HealthcheckError::Status { status: 404, .. }), "{err}");
}

/// The database goes away under a running server: PostgreSQL is reached through a proxy that the
/// test cuts (every open connection closed, new ones refused) and restores on the same address.
/// This is what a database restart or a network partition looks like to the server, it is
/// deterministic, and it needs no privilege on the shared PostgreSQL. (A SQLite file cannot be
/// made unreachable under an open connection, so this runs on PostgreSQL only.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_while_the_database_is_unreachable_and_200_once_it_is_back() {
    let mut proxy = TcpProxy::start(postgres_server_addr()).await;
    let via = proxy.addr();
    let app = TestApp::spawn_with(DbKind::Postgres, |s| {
        s.database.url = Some(postgres_url_via(s.database.url.as_deref().unwrap(), via));
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    proxy.cut().await;
    for attempt in 0..3 {
        let started = Instant::now();
        let res = app.get("/readyz").await;
        let elapsed = started.elapsed();
        assert_eq!(res.status(), 503, "attempt {attempt}");
        let body = res.text().await.unwrap();
        // Fixed text: the cause (addresses, driver messages) is logged, never sent.
        assert_eq!(body, kafkaml_api::routes::health::NOT_READY, "attempt {attempt}");
        assert!(elapsed < READY_DEADLINE + Duration::from_secs(1), "attempt {attempt} took {elapsed:?}");
        // Liveness does not depend on the database: a database outage must not restart the pods.
        assert_eq!(app.get("/healthz").await.status(), 200, "attempt {attempt}");
    }

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = app.get("/readyz").await.status();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "/readyz still answers {status} 20 s after the database came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the API works again, not only the probe.
    assert_eq!(app.get("/models/").await.status(), 200);
}
