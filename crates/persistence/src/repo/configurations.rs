//! `automl_configuration` and its model links.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kafkaml_domain::outputs::{Configuration, DeploymentRef, ModelRef};
use kafkaml_domain::{Named, Violation};

use crate::db::{gone, write_transaction, DbConnection};
use crate::error::{DbError, DbResult};
use crate::schema::{
    automl_configuration as cfg, automl_configuration_ml_models as links, automl_deployment as dep, automl_mlmodel as m,
};
use crate::with_conn;

/// Loads configurations (one or all) with their models and deployments in three statements,
/// newest first.
pub fn load(conn: &mut DbConnection, only: Option<i32>) -> DbResult<Vec<Configuration>> {
    let rows: Vec<(i32, String, String)> = with_conn!(conn, |c| {
        let mut q = cfg::table
            .select((cfg::id, cfg::name, cfg::description))
            .order((cfg::time.desc(), cfg::id.desc()))
            .into_boxed();
        if let Some(id) = only {
            q = q.filter(cfg::id.eq(id));
        }
        q.load(c)
    })?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let model_links: Vec<(i32, i32, String)> = with_conn!(conn, |c| {
        let mut q = links::table
            .inner_join(m::table)
            .select((links::configuration_id, m::id, m::name))
            .order(m::id.asc())
            .into_boxed();
        if let Some(id) = only {
            q = q.filter(links::configuration_id.eq(id));
        }
        q.load(c)
    })?;
    let deployments: Vec<(i32, i32, NaiveDateTime)> = with_conn!(conn, |c| {
        let mut q = dep::table
            .select((dep::configuration_id, dep::id, dep::time))
            .order((dep::time.desc(), dep::id.desc()))
            .into_boxed();
        if let Some(id) = only {
            q = q.filter(dep::configuration_id.eq(id));
        }
        q.load(c)
    })?;
    let mut models: HashMap<i32, Vec<ModelRef>> = HashMap::new();
    for (config, id, name) in model_links {
        models.entry(config).or_default().push(ModelRef { id, name });
    }
    let mut deps: HashMap<i32, Vec<DeploymentRef>> = HashMap::new();
    for (config, id, time) in deployments {
        deps.entry(config).or_default().push(DeploymentRef { id, time });
    }
    Ok(rows
        .into_iter()
        .map(|(id, name, description)| Configuration {
            id,
            name,
            description,
            ml_models: models.remove(&id).unwrap_or_default(),
            deployments: deps.remove(&id).unwrap_or_default(),
        })
        .collect())
}

/// One configuration.
pub fn get(conn: &mut DbConnection, id: i32) -> DbResult<Option<Configuration>> {
    Ok(load(conn, Some(id))?.pop())
}

/// Whether configuration `id` exists.
pub fn exists(conn: &mut DbConnection, id: i32) -> DbResult<bool> {
    let n: i64 = with_conn!(conn, |c| cfg::table.filter(cfg::id.eq(id)).count().get_result(c))?;
    Ok(n > 0)
}

fn name_taken(name: &str) -> DbError {
    Violation::NameTaken { kind: Named::Configuration, name: name.to_owned() }.into()
}

fn check_name_free(conn: &mut DbConnection, name: &str, except: Option<i32>) -> DbResult<()> {
    let taken: Option<i32> =
        with_conn!(conn, |c| cfg::table.filter(cfg::name.eq(name)).select(cfg::id).first(c).optional())?;
    match taken {
        Some(id) if Some(id) != except => Err(name_taken(name)),
        _ => Ok(()),
    }
}

/// Words a name clash that a concurrent request caused after the check passed as the check
/// would have (the constraint names are not for users).
fn explain_unique(e: DbError, name: Option<&str>) -> DbError {
    match (e, name) {
        (DbError::Unique(what), Some(name)) if what.contains("name") => name_taken(name),
        (other, _) => other,
    }
}

fn replace_models(conn: &mut DbConnection, id: i32, model_ids: &[i32]) -> DbResult<()> {
    let mut unique: Vec<i32> = Vec::with_capacity(model_ids.len());
    for m in model_ids {
        if !unique.contains(m) {
            unique.push(*m);
        }
    }
    let found: Vec<i32> = with_conn!(conn, |c| m::table.filter(m::id.eq_any(&unique)).select(m::id).load(c))?;
    if let Some(missing) = unique.iter().find(|m| !found.contains(m)) {
        return Err(Violation::ModelMissing((*missing).into()).into());
    }
    with_conn!(conn, |c| diesel::delete(links::table.filter(links::configuration_id.eq(id))).execute(c))?;
    let rows: Vec<_> = unique.iter().map(|m| (links::configuration_id.eq(id), links::mlmodel_id.eq(*m))).collect();
    if !rows.is_empty() {
        with_conn!(conn, |c| diesel::insert_into(links::table).values(&rows).execute(c))?;
    }
    Ok(())
}

/// Creates a configuration linked to `model_ids` (already chain-expanded), in one transaction.
pub fn create(conn: &mut DbConnection, name: &str, description: &str, model_ids: &[i32]) -> DbResult<i32> {
    write_transaction(conn, |conn| {
        check_name_free(conn, name, None)?;
        let now = kafkaml_domain::datetime::now();
        let id: i32 = with_conn!(conn, |c| diesel::insert_into(cfg::table)
            .values((cfg::name.eq(name), cfg::description.eq(description), cfg::time.eq(now)))
            .returning(cfg::id)
            .get_result(c))?;
        replace_models(conn, id, model_ids)?;
        Ok(id)
    })
    .map_err(|e| explain_unique(e, Some(name)))
}

/// Updates a configuration; `model_ids: None` keeps its models (decisions.md item 21).
pub fn update(
    conn: &mut DbConnection,
    id: i32,
    name: Option<&str>,
    description: Option<&str>,
    model_ids: Option<&[i32]>,
) -> DbResult<()> {
    write_transaction(conn, |conn| {
        if !exists(conn, id)? {
            return Err(DbError::NotFound);
        }
        if let Some(name) = name {
            check_name_free(conn, name, Some(id))?;
            with_conn!(conn, |c| diesel::update(cfg::table.find(id)).set(cfg::name.eq(name)).execute(c))?;
        }
        if let Some(description) = description {
            with_conn!(conn, |c| diesel::update(cfg::table.find(id)).set(cfg::description.eq(description)).execute(c))?;
        }
        if let Some(models) = model_ids {
            replace_models(conn, id, models)?;
        }
        Ok(())
    })
    .map_err(|e| explain_unique(e, name))
}

/// Deletes a configuration unless it has deployments.
pub fn delete(conn: &mut DbConnection, id: i32) -> DbResult<()> {
    write_transaction(conn, |conn| {
        if !exists(conn, id)? {
            return Err(DbError::NotFound);
        }
        let deployments: i64 =
            with_conn!(conn, |c| dep::table.filter(dep::configuration_id.eq(id)).count().get_result(c))?;
        if deployments > 0 {
            return Err(Violation::ConfigurationInUse.into());
        }
        with_conn!(conn, |c| diesel::delete(links::table.filter(links::configuration_id.eq(id))).execute(c))?;
        gone(with_conn!(conn, |c| diesel::delete(cfg::table.find(id)).execute(c))?)
    })
}

/// The distinct frameworks of the configuration's models, sorted (decisions.md item 27), and
/// whether any of them is distributed. `None` when the configuration does not exist.
pub fn model_traits(conn: &mut DbConnection, id: i32) -> DbResult<Option<(Vec<String>, bool)>> {
    if !exists(conn, id)? {
        return Ok(None);
    }
    let rows: Vec<(String, bool)> = with_conn!(conn, |c| links::table
        .inner_join(m::table)
        .filter(links::configuration_id.eq(id))
        .select((m::framework, m::distributed))
        .load(c))?;
    let distributed = rows.iter().any(|(_, d)| *d);
    let mut frameworks: Vec<String> = rows.into_iter().map(|(f, _)| f).collect();
    frameworks.sort();
    frameworks.dedup();
    Ok(Some((frameworks, distributed)))
}
