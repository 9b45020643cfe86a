//! `crates/persistence/src/schema.rs` matches the migrations of both backends: after the embedded
//! migrations ran on a fresh SQLite file and a fresh PostgreSQL schema, every table has exactly
//! the columns diesel's `table!` declares, with the same nullability and (normalised) type.
//!
//! diesel's side is read from the schema itself (`Table::all_columns()`, each column's
//! `Column::NAME` and SQL type), so a column added to a migration and not to `schema.rs`, or the
//! other way round, or a changed type or `NULL`, fails here instead of at the first query.

use std::collections::BTreeMap;

use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text, Timestamp};
use diesel::{Column, QueryableByName, RunQueryDsl, Table};
use kafkaml_persistence::db::run_migrations;
use kafkaml_persistence::{schema, DbConnection};
use kafkaml_tests::{DbKind, TestDb};

/// A column as both sides describe it: normalised type and nullability.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnShape {
    ty: String,
    nullable: bool,
}

type Shapes = BTreeMap<String, ColumnShape>;

// ---------------------------------------------------------------------------------------------
// diesel's view

/// The normalised name of a diesel SQL type (`integer`, `bigint`, `text`, `bool`, `double`,
/// `timestamp`) and whether it is `Nullable`. A column of a type not listed here does not
/// compile: add the type below and to [`normalise_sqlite`] / [`normalise_postgres`].
trait SqlTypeShape {
    const TY: &'static str;
    const NULLABLE: bool = false;
}

macro_rules! shapes {
    ($($ty:ty => $name:literal),+ $(,)?) => {$(
        impl SqlTypeShape for $ty {
            const TY: &'static str = $name;
        }
    )+};
}

shapes!(
    Integer => "integer",
    BigInt => "bigint",
    Text => "text",
    Bool => "bool",
    Double => "double",
    Timestamp => "timestamp",
);
impl<T: SqlTypeShape + diesel::sql_types::SqlType> SqlTypeShape for Nullable<T> {
    const TY: &'static str = T::TY;
    const NULLABLE: bool = true;
}

/// A tuple of diesel columns (`Table::AllColumns`) listed with their shapes.
trait ColumnList {
    fn shapes() -> Shapes;
}

macro_rules! column_list {
    ($($column:ident),+) => {
        impl<$($column),+> ColumnList for ($($column,)+)
        where
            $($column: Column, <$column as diesel::Expression>::SqlType: SqlTypeShape,)+
        {
            fn shapes() -> Shapes {
                [$((
                    $column::NAME.to_owned(),
                    ColumnShape {
                        ty: <<$column as diesel::Expression>::SqlType as SqlTypeShape>::TY.to_owned(),
                        nullable: <<$column as diesel::Expression>::SqlType as SqlTypeShape>::NULLABLE,
                    },
                )),+]
                .into_iter()
                .collect()
            }
        }
    };
}

/// [`ColumnList`] for every tuple length up to 32 (diesel's `32-column-tables`).
macro_rules! column_lists {
    ($first:ident $(, $rest:ident)*) => {
        column_list!($first $(, $rest)*);
        column_lists!($($rest),*);
    };
    () => {};
}

column_lists!(
    C32, C31, C30, C29, C28, C27, C26, C25, C24, C23, C22, C21, C20, C19, C18, C17, C16, C15, C14, C13, C12, C11, C10,
    C9, C8, C7, C6, C5, C4, C3, C2, C1
);

fn diesel_shapes<T: Table>() -> Shapes
where
    T::AllColumns: ColumnList,
{
    <T::AllColumns as ColumnList>::shapes()
}

/// Every table of `schema.rs`, by name. A table created by a migration and missing here (or in
/// `schema.rs`) fails [`compare`].
fn schema_rs() -> BTreeMap<String, Shapes> {
    macro_rules! tables {
        ($($table:ident),+ $(,)?) => {
            [$((stringify!($table).to_owned(), diesel_shapes::<schema::$table::table>())),+].into_iter().collect()
        };
    }
    tables!(
        automl_configuration,
        automl_configuration_ml_models,
        automl_datasource,
        automl_deployment,
        automl_inference,
        automl_iotdevice,
        automl_mlmodel,
        automl_trainingresult,
        kafkaml_audit,
        kafkaml_session,
        kafkaml_token,
        kafkaml_user,
    )
}

// ---------------------------------------------------------------------------------------------
// The database's view

#[derive(QueryableByName, Debug)]
struct CatalogueColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    declared: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

/// A SQLite declared type (free text in `CREATE TABLE`) as a normalised type.
fn normalise_sqlite(declared: &str) -> String {
    let upper = declared.to_ascii_uppercase();
    let base = upper.split('(').next().unwrap_or_default().trim();
    match base {
        "INTEGER" | "INT" => "integer",
        "BIGINT" => "bigint",
        "TEXT" | "VARCHAR" | "CHAR" => "text",
        "BOOLEAN" | "BOOL" => "bool",
        "DOUBLE" | "DOUBLE PRECISION" | "REAL" | "FLOAT" => "double",
        "TIMESTAMP" | "DATETIME" => "timestamp",
        _ => return format!("unknown SQLite type {declared}"),
    }
    .to_owned()
}

/// A PostgreSQL `information_schema.columns.data_type` as a normalised type.
fn normalise_postgres(data_type: &str) -> String {
    match data_type {
        "integer" => "integer",
        "bigint" => "bigint",
        "text" | "character varying" | "character" => "text",
        "boolean" => "bool",
        "double precision" => "double",
        "timestamp without time zone" => "timestamp",
        _ => return format!("unknown PostgreSQL type {data_type}"),
    }
    .to_owned()
}

/// The application tables (`automl_*`, `kafkaml_*`) and their columns, as the migrated database has them.
fn catalogue(conn: &mut DbConnection) -> BTreeMap<String, Shapes> {
    let (rows, normalise): (Vec<CatalogueColumn>, fn(&str) -> String) = match conn {
        // An `INTEGER PRIMARY KEY` is the rowid: never NULL, although `notnull` may say 0.
        DbConnection::Sqlite(c) => (
            diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS name, p.type AS declared, \
                        (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
                 FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND (m.name LIKE 'automl\\_%' ESCAPE '\\' OR m.name LIKE 'kafkaml\\_%' ESCAPE '\\')",
            )
            .load(c)
            .unwrap(),
            normalise_sqlite,
        ),
        DbConnection::Pg(c) => (
            diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS name, \
                        data_type::text AS declared, (is_nullable = 'YES') AS nullable \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND (table_name LIKE 'automl\\_%' OR table_name LIKE 'kafkaml\\_%')",
            )
            .load(c)
            .unwrap(),
            normalise_postgres,
        ),
    };
    let mut tables: BTreeMap<String, Shapes> = BTreeMap::new();
    for row in rows {
        let shape = ColumnShape { ty: normalise(&row.declared), nullable: row.nullable };
        tables.entry(row.table_name).or_default().insert(row.name, shape);
    }
    tables
}

// ---------------------------------------------------------------------------------------------
// The comparison

/// Every difference between the migrated database and `schema.rs`, one readable line each.
fn compare(database: &BTreeMap<String, Shapes>, diesel: &BTreeMap<String, Shapes>) -> Vec<String> {
    let mut problems = Vec::new();
    for table in database.keys().filter(|t| !diesel.contains_key(*t)) {
        problems.push(format!("table {table}: created by the migrations, missing in schema.rs"));
    }
    for table in diesel.keys().filter(|t| !database.contains_key(*t)) {
        problems.push(format!("table {table}: in schema.rs, not created by the migrations"));
    }
    for (table, db_columns) in database {
        let Some(diesel_columns) = diesel.get(table) else { continue };
        for (column, db) in db_columns {
            match diesel_columns.get(column) {
                None => problems.push(format!("{table}.{column}: in the migrations ({db:?}), missing in schema.rs")),
                Some(d) if d != db => {
                    problems.push(format!("{table}.{column}: the migrations say {db:?}, schema.rs says {d:?}"))
                }
                Some(_) => {}
            }
        }
        for column in diesel_columns.keys().filter(|c| !db_columns.contains_key(*c)) {
            problems.push(format!("{table}.{column}: in schema.rs, not in the migrations"));
        }
    }
    problems
}

fn check(kind: DbKind) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(kind, dir.path());
    let mut conn = db.connect();
    run_migrations(&mut conn).unwrap();
    let database = catalogue(&mut conn);
    let diesel = schema_rs();
    assert_eq!(database.len(), 12, "{:?}", database.keys());
    let problems = compare(&database, &diesel);
    assert!(
        problems.is_empty(),
        "crates/persistence/src/schema.rs does not match migrations/{}:\n  {}",
        if kind == DbKind::Sqlite { "sqlite" } else { "postgres" },
        problems.join("\n  ")
    );
}

#[test]
fn schema_rs_matches_the_sqlite_migrations() {
    check(DbKind::Sqlite);
}

#[test]
fn schema_rs_matches_the_postgres_migrations() {
    check(DbKind::Postgres);
}

/// The comparison itself reports each kind of drift.
#[test]
fn compare_names_every_difference() {
    let shape = |ty: &str, nullable| ColumnShape { ty: ty.to_owned(), nullable };
    let diesel: BTreeMap<String, Shapes> = [(
        "t".to_owned(),
        [("a".to_owned(), shape("integer", false)), ("b".to_owned(), shape("text", true))].into_iter().collect(),
    )]
    .into_iter()
    .collect();
    assert!(compare(&diesel, &diesel).is_empty());
    let database: BTreeMap<String, Shapes> = [
        (
            "t".to_owned(),
            [("a".to_owned(), shape("bigint", false)), ("c".to_owned(), shape("text", false))].into_iter().collect(),
        ),
        ("u".to_owned(), Shapes::new()),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        compare(&database, &diesel),
        [
            "table u: created by the migrations, missing in schema.rs",
            "t.a: the migrations say ColumnShape { ty: \"bigint\", nullable: false }, \
             schema.rs says ColumnShape { ty: \"integer\", nullable: false }",
            "t.c: in the migrations (ColumnShape { ty: \"text\", nullable: false }), missing in schema.rs",
            "t.b: in schema.rs, not in the migrations",
        ]
    );
}
