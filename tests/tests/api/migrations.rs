//! The embedded migrations on a fresh SQLite file and a fresh PostgreSQL schema: up, down (every
//! table gone), up again; both backends get the same tables and columns, and the diesel schema
//! can read and write every table.

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use kafkaml_persistence::db::{revert_all_migrations, run_migrations};
use kafkaml_persistence::repo::{configurations, datasources, deployments, inferences, models, results};
use kafkaml_persistence::{with_conn, DbConnection};
use kafkaml_tests::{DbKind, TestDb};

const TABLES: [&str; 12] = [
    "automl_configuration",
    "automl_configuration_ml_models",
    "automl_datasource",
    "automl_deployment",
    "automl_inference",
    "automl_iotdevice",
    "automl_mlmodel",
    "automl_trainingresult",
    "kafkaml_audit",
    "kafkaml_session",
    "kafkaml_token",
    "kafkaml_user",
];

#[derive(QueryableByName, Debug)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The application tables (`automl_*`, `kafkaml_*`) of the connection's database or schema, sorted.
fn tables(conn: &mut DbConnection) -> Vec<String> {
    let mut names: Vec<String> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'automl\\_%' ESCAPE '\\' OR name LIKE 'kafkaml\\_%' ESCAPE '\\')",
        )
        .load::<Name>(c),
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND (table_name LIKE 'automl\\_%' OR table_name LIKE 'kafkaml\\_%')",
        )
        .load::<Name>(c),
    }
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect();
    names.sort();
    names
}

/// The column names of `table`, in declaration order.
fn columns(conn: &mut DbConnection, table: &str) -> Vec<String> {
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::sql_query(format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")).load::<Name>(c)
        }
        DbConnection::Pg(c) => diesel::sql_query(format!(
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
        ))
        .load::<Name>(c),
    }
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect()
}

/// Reads every table through the diesel schema and writes one row of each kind the repositories
/// write, proving `schema.rs` matches the migrated tables.
fn exercise_schema(conn: &mut DbConnection) {
    let model = models::create(
        conn,
        &models::ModelFields {
            name: "m".to_owned(),
            description: String::new(),
            imports: String::new(),
            code: "model = 1".to_owned(),
            distributed: false,
            framework: kafkaml_domain::Framework::Tf,
        },
        models::FatherChange::Clear,
    )
    .unwrap();
    let configuration = configurations::create(conn, "c", "", &[model]).unwrap();
    let created = deployments::create(conn, &deployments::NewDeployment::with_defaults(configuration)).unwrap();
    assert_eq!(created.results.len(), 1);
    let listed = results::list(conn, None, None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status.as_str(), "created");
    assert_eq!(models::list(conn, models::ModelFilter::All).unwrap().len(), 1);
    assert_eq!(configurations::load(conn, None).unwrap().len(), 1);
    assert!(inferences::list(conn).unwrap().is_empty());
    assert!(datasources::list(conn, None).unwrap().is_empty());
    let count: i64 = with_conn!(conn, |c| {
        use diesel::QueryDsl;
        kafkaml_persistence::schema::automl_iotdevice::table.count().get_result(c)
    })
    .unwrap();
    assert_eq!(count, 0);
}

fn up_down_up(kind: DbKind) -> Vec<(String, Vec<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(kind, dir.path());
    let mut conn = db.connect();
    assert!(tables(&mut conn).is_empty(), "a fresh database has no tables");

    run_migrations(&mut conn).unwrap();
    assert_eq!(tables(&mut conn), TABLES);
    // Running them again is a no-op.
    run_migrations(&mut conn).unwrap();
    assert_eq!(tables(&mut conn), TABLES);
    exercise_schema(&mut conn);

    revert_all_migrations(&mut conn).unwrap();
    assert!(tables(&mut conn).is_empty(), "down drops every table: {:?}", tables(&mut conn));

    run_migrations(&mut conn).unwrap();
    assert_eq!(tables(&mut conn), TABLES);
    // The tables are empty again and usable: ids start afresh.
    exercise_schema(&mut conn);
    TABLES.iter().map(|t| (t.to_string(), columns(&mut conn, t))).collect()
}

#[test]
fn sqlite_migrations_up_down_up() {
    up_down_up(DbKind::Sqlite);
}

#[test]
fn postgres_migrations_up_down_up() {
    up_down_up(DbKind::Postgres);
}

#[test]
fn both_backends_have_the_same_columns() {
    let sqlite = up_down_up(DbKind::Sqlite);
    let postgres = up_down_up(DbKind::Postgres);
    assert_eq!(sqlite, postgres);
    let result_columns = &sqlite.iter().find(|(t, _)| t == "automl_trainingresult").unwrap().1;
    assert_eq!(
        result_columns,
        &[
            "id",
            "status",
            "status_changed",
            "deployment_id",
            "model_id",
            "train_metrics",
            "val_metrics",
            "test_metrics",
            "confusion_matrix",
            "training_time",
            "trained_model",
            "confusion_mat_img",
            "status_reason"
        ]
    );
}

#[test]
fn the_application_migrates_a_fresh_database_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(DbKind::Sqlite, dir.path());
    let mut settings = kafkaml_api::Settings::defaults();
    settings.server.data_dir = dir.path().join("data");
    settings.database.url = Some(db.url.clone());
    let _pool = kafkaml_api::app::open_database(&settings).unwrap();
    assert_eq!(tables(&mut db.connect()), TABLES);
    // A second start finds nothing to do.
    let _pool = kafkaml_api::app::open_database(&settings).unwrap();
    assert_eq!(tables(&mut db.connect()), TABLES);
}

/// The names of the PostgreSQL migrations (their directories), oldest first.
fn postgres_migration_names() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/postgres");
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Replicas starting together on one PostgreSQL database: each runs the migrations on its own
/// connection at the same moment. The advisory lock makes one apply them and the other find
/// nothing left to do; without it the loser fails on tables the winner just created.
#[test]
fn concurrent_postgres_migrations_take_turns() {
    use diesel::connection::SimpleConnection;
    use kafkaml_persistence::db::pending_migrations;
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(DbKind::Postgres, dir.path());
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let replicas: Vec<_> = (0..2)
            .map(|_| {
                let mut conn = db.connect();
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    run_migrations(&mut conn)
                })
            })
            .collect();
        let applied: Vec<Vec<String>> = replicas.into_iter().map(|r| r.join().unwrap().unwrap()).collect();
        let mut conn = db.connect();
        assert_eq!(tables(&mut conn), TABLES);
        assert!(pending_migrations(&mut conn).unwrap().is_empty());
        // Every migration was applied exactly once, by one replica or the other.
        let mut all: Vec<&String> = applied.iter().flatten().collect();
        all.sort();
        let unique: std::collections::BTreeSet<&String> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len(), "a migration ran twice: {applied:?}");
        assert_eq!(unique.into_iter().cloned().collect::<Vec<_>>(), postgres_migration_names(), "{applied:?}");
        // The lock is released: a session can take it again at once.
        let DbConnection::Pg(pg) = &mut conn else { unreachable!("a PostgreSQL test database") };
        pg.batch_execute(&format!(
            "SELECT pg_advisory_lock({0}); SELECT pg_advisory_unlock({0})",
            kafkaml_persistence::db::MIGRATION_LOCK_KEY
        ))
        .unwrap();
    }
}

#[test]
fn pending_postgres_migrations_are_listed_until_applied() {
    use kafkaml_persistence::db::pending_migrations;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(DbKind::Postgres, dir.path());
    let mut conn = db.connect();
    let pending = pending_migrations(&mut conn).unwrap();
    assert_eq!(pending, postgres_migration_names());
    assert!(pending.iter().any(|name| name.ends_with("_accounts")), "{pending:?}");
    assert!(tables(&mut conn).is_empty(), "listing applies nothing");
    assert_eq!(run_migrations(&mut conn).unwrap(), pending);
    assert!(pending_migrations(&mut conn).unwrap().is_empty());
}
