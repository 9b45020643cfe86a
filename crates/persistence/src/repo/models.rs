//! `automl_mlmodel`: model definitions and their distributed chains.

use std::collections::HashMap;

use diesel::prelude::*;
use kafkaml_domain::outputs::{MlModel, ModelRef};
use kafkaml_domain::{Framework, Named, Violation};

use crate::db::{gone, write_transaction, DbConnection};
use crate::error::{DbError, DbResult};
use crate::schema::{automl_configuration_ml_models as links, automl_mlmodel as m, automl_trainingresult as r};
use crate::wire::Stored;
use crate::with_conn;

/// A row of `automl_mlmodel`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = m)]
pub struct ModelRow {
    /// The model's id.
    pub id: i32,
    /// The model's unique name.
    pub name: String,
    /// Free-text description.
    pub description: String,
    /// Python import lines run before `code`.
    pub imports: String,
    /// The model's Python source code.
    pub code: String,
    /// Whether the model is part of a distributed chain.
    pub distributed: bool,
    /// The upper model of a distributed model, `NULL` for a root.
    pub father_id: Option<i32>,
    /// The framework of `code`.
    #[diesel(deserialize_as = Stored<Framework>)]
    pub framework: Framework,
}

impl ModelRow {
    fn into_output(self, father: Option<ModelRef>) -> MlModel {
        let framework = self.framework;
        MlModel {
            id: self.id,
            code: self.code,
            name: self.name,
            description: self.description,
            imports: self.imports,
            distributed: self.distributed,
            father,
            framework,
        }
    }
}

/// The writable fields of a model.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = m)]
pub struct ModelFields {
    /// The model's unique name.
    pub name: String,
    /// Free-text description.
    pub description: String,
    /// Python import lines run before `code`.
    pub imports: String,
    /// The model's Python source code.
    pub code: String,
    /// Whether the model is part of a distributed chain.
    pub distributed: bool,
    /// The framework of `code`.
    #[diesel(serialize_as = Stored<Framework>)]
    pub framework: Framework,
}

/// What to do with a model's father on create or update (docs/contract.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatherChange {
    /// Leave it as it is.
    Keep,
    /// Remove it.
    Clear,
    /// Set it to this model.
    Set(i64),
}

/// Which models a list returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFilter {
    /// Every model.
    All,
    /// Models with `distributed = true`.
    Distributed,
    /// Models without a father (non-distributed models and chain roots).
    Fathers,
}

fn refs_by_id(conn: &mut DbConnection, ids: Vec<i32>) -> DbResult<HashMap<i32, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i32, String)> =
        with_conn!(conn, |c| m::table.filter(m::id.eq_any(&ids)).select((m::id, m::name)).load(c))?;
    Ok(rows.into_iter().collect())
}

fn with_fathers(conn: &mut DbConnection, rows: Vec<ModelRow>) -> DbResult<Vec<MlModel>> {
    let names = refs_by_id(conn, rows.iter().filter_map(|r| r.father_id).collect())?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let father = r.father_id.and_then(|id| names.get(&id).map(|name| ModelRef { id, name: name.clone() }));
            r.into_output(father)
        })
        .collect())
}

/// Lists models in id order (two statements).
pub fn list(conn: &mut DbConnection, filter: ModelFilter) -> DbResult<Vec<MlModel>> {
    let rows: Vec<ModelRow> = with_conn!(conn, |c| {
        let q = m::table.select(ModelRow::as_select()).order(m::id.asc()).into_boxed();
        let q = match filter {
            ModelFilter::All => q,
            ModelFilter::Distributed => q.filter(m::distributed.eq(true)),
            ModelFilter::Fathers => q.filter(m::father_id.is_null()),
        };
        q.load(c)
    })?;
    with_fathers(conn, rows)
}

/// One model row.
pub fn find_row(conn: &mut DbConnection, id: i32) -> DbResult<Option<ModelRow>> {
    Ok(with_conn!(conn, |c| m::table.find(id).select(ModelRow::as_select()).first(c).optional())?)
}

/// One model with its father reference.
pub fn get(conn: &mut DbConnection, id: i32) -> DbResult<Option<MlModel>> {
    match find_row(conn, id)? {
        None => Ok(None),
        Some(row) => Ok(with_fathers(conn, vec![row])?.pop()),
    }
}

/// The child of every model that has one (`father id → child id`), in one statement.
pub fn child_map(conn: &mut DbConnection) -> DbResult<HashMap<i32, i32>> {
    let rows: Vec<(i32, Option<i32>)> =
        with_conn!(conn, |c| m::table.filter(m::father_id.is_not_null()).select((m::id, m::father_id)).load(c))?;
    Ok(rows.into_iter().filter_map(|(child, father)| father.map(|f| (f, child))).collect())
}

/// Whether model `id` is the father of another model (one indexed count).
pub fn has_child(conn: &mut DbConnection, id: i32) -> DbResult<bool> {
    let children: i64 = with_conn!(conn, |c| m::table.filter(m::father_id.eq(id)).count().get_result(c))?;
    Ok(children > 0)
}

fn name_taken(name: &str) -> DbError {
    Violation::NameTaken { kind: Named::Model, name: name.to_owned() }.into()
}

fn check_name_free(conn: &mut DbConnection, name: &str, except: Option<i32>) -> DbResult<()> {
    let taken: Option<i32> = with_conn!(conn, |c| m::table.filter(m::name.eq(name)).select(m::id).first(c).optional())?;
    match taken {
        Some(id) if Some(id) != except => Err(name_taken(name)),
        _ => Ok(()),
    }
}

/// Words a unique violation that a concurrent request caused after the checks passed as the
/// checks would have (the constraint names are not for users).
fn explain_unique(e: DbError, name: &str, father: FatherChange) -> DbError {
    match (e, father) {
        (DbError::Unique(what), FatherChange::Set(f)) if what.contains("father") => {
            Violation::FatherGivenTwice(f).into()
        }
        (DbError::Unique(what), _) if what.contains("name") => name_taken(name),
        (other, _) => other,
    }
}

fn resolve_father(conn: &mut DbConnection, model_id: Option<i32>, father: i64) -> DbResult<i32> {
    let father = crate::repo::narrow_id(father).ok_or(Violation::FatherMissing(father))?;
    if Some(father) == model_id {
        return Err(Violation::OwnFather.into());
    }
    if find_row(conn, father)?.is_none() {
        return Err(Violation::FatherMissing(father.into()).into());
    }
    if let Some(id) = model_id {
        // A descendant as father would close the chain into a loop without a root, which no
        // list of roots shows and no training Job covers.
        let children = child_map(conn)?;
        let below = kafkaml_domain::rules::chain_from_root(id, |m| children.get(&m).copied());
        if below.contains(&father) {
            return Err(Violation::FatherDescends { father, model: id }.into());
        }
    }
    let child: Option<i32> =
        with_conn!(conn, |c| m::table.filter(m::father_id.eq(father)).select(m::id).first(c).optional())?;
    match child {
        Some(child) if Some(child) != model_id => Err(Violation::FatherTaken { father, child }.into()),
        _ => Ok(father),
    }
}

fn apply_father(conn: &mut DbConnection, id: i32, distributed: bool, father: FatherChange) -> DbResult<()> {
    let new_father = match (distributed, father) {
        (false, _) | (true, FatherChange::Clear) => Some(None),
        (true, FatherChange::Keep) => None,
        (true, FatherChange::Set(f)) => Some(Some(resolve_father(conn, Some(id), f)?)),
    };
    if let Some(father) = new_father {
        with_conn!(conn, |c| diesel::update(m::table.find(id)).set(m::father_id.eq(father)).execute(c))?;
    }
    Ok(())
}

/// Creates a model; the father rules of docs/contract.md §3.2 apply, all in one transaction.
pub fn create(conn: &mut DbConnection, fields: &ModelFields, father: FatherChange) -> DbResult<i32> {
    write_transaction(conn, |conn| -> DbResult<i32> {
        check_name_free(conn, &fields.name, None)?;
        if let (true, FatherChange::Set(f)) = (fields.distributed, father) {
            resolve_father(conn, None, f)?;
        }
        let id: i32 =
            with_conn!(conn, |c| diesel::insert_into(m::table).values(fields.clone()).returning(m::id).get_result(c))?;
        apply_father(conn, id, fields.distributed, father)?;
        Ok(id)
    })
    .map_err(|e| explain_unique(e, &fields.name, father))
}

/// Replaces the writable fields of model `id`; the father rules of docs/contract.md §3.2 apply.
pub fn update(conn: &mut DbConnection, id: i32, fields: &ModelFields, father: FatherChange) -> DbResult<()> {
    write_transaction(conn, |conn| {
        if find_row(conn, id)?.is_none() {
            return Err(DbError::NotFound);
        }
        check_name_free(conn, &fields.name, Some(id))?;
        with_conn!(conn, |c| diesel::update(m::table.find(id)).set(fields.clone()).execute(c))?;
        apply_father(conn, id, fields.distributed, father)
    })
    .map_err(|e| explain_unique(e, &fields.name, father))
}

/// Deletes model `id` unless a configuration uses it. Its children lose their father and its
/// results are deleted with it (inferences of those results keep their row, without result).
/// Returns the ids of the deleted results, whose files the caller removes.
pub fn delete(conn: &mut DbConnection, id: i32) -> DbResult<Vec<i32>> {
    write_transaction(conn, |conn| {
        if find_row(conn, id)?.is_none() {
            return Err(DbError::NotFound);
        }
        let used: i64 = with_conn!(conn, |c| links::table.filter(links::mlmodel_id.eq(id)).count().get_result(c))?;
        if used > 0 {
            return Err(Violation::ModelInUse.into());
        }
        with_conn!(conn, |c| diesel::update(m::table.filter(m::father_id.eq(id)))
            .set(m::father_id.eq(None::<i32>))
            .execute(c))?;
        let results: Vec<i32> =
            with_conn!(conn, |c| r::table.filter(r::model_id.eq(id)).select(r::id).order(r::id.asc()).load(c))?;
        gone(with_conn!(conn, |c| diesel::delete(m::table.find(id)).execute(c))?)?;
        Ok(results)
    })
}

/// The models of configuration `configuration_id`, in link order; `None` when the configuration
/// does not exist.
pub fn of_configuration(conn: &mut DbConnection, configuration_id: i32) -> DbResult<Option<Vec<ModelRow>>> {
    use crate::schema::automl_configuration as cfg;
    let exists: i64 = with_conn!(conn, |c| cfg::table.filter(cfg::id.eq(configuration_id)).count().get_result(c))?;
    if exists == 0 {
        return Ok(None);
    }
    let rows: Vec<ModelRow> = with_conn!(conn, |c| links::table
        .inner_join(m::table)
        .filter(links::configuration_id.eq(configuration_id))
        .order(links::id.asc())
        .select(ModelRow::as_select())
        .load(c))?;
    Ok(Some(rows))
}
