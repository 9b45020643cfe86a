//! Models, configurations and deployments as stored objects: create, update and delete them.
//! A model's code is checked by its framework's executor before it is stored; a configuration's
//! models are expanded to whole distributed chains.

use kafkaml_domain::inputs::{ConfigurationInput, ConfigurationPatch, ModelInput, ModelPatch};
use kafkaml_domain::outputs::{Configuration, MlModel};
use kafkaml_domain::rules::expand_chains;
use kafkaml_domain::Violation;
use kafkaml_executor::{CheckOutcome, ExecutorKind, ModelCode};
use kafkaml_persistence::repo::models::{self, FatherChange, ModelFields, ModelRow};
use kafkaml_persistence::repo::{configurations, deployments, narrow_id};
use kafkaml_persistence::{write_transaction, DbConnection};

use crate::usecase::{Actor, Change, Ctx, Error, Missing};

/// The prefix of the validation messages of models and configuration updates.
pub const INVALID: &str = "Information not valid";

async fn check_code(ctx: &Ctx, fields: &ModelFields) -> Result<(), Error> {
    let kind = ExecutorKind::from(fields.framework);
    let code = ModelCode::new(fields.imports.clone(), fields.code.clone(), fields.distributed);
    match ctx.services.executor.check(kind, &code).await? {
        CheckOutcome::Valid => Ok(()),
        CheckOutcome::Invalid => Err(Error::BadRequest(format!(
            "Model not valid: the {kind} executor could not build a model from its code."
        ))),
    }
}

/// Checks the code again only when it (or the framework that builds it) changed.
async fn check_changed_code(ctx: &Ctx, fields: &ModelFields, current: &ModelRow) -> Result<(), Error> {
    if fields.code != current.code || fields.framework != current.framework {
        check_code(ctx, fields).await?;
    }
    Ok(())
}

fn fields_of(input: ModelInput) -> ModelFields {
    ModelFields {
        name: input.name.trim().to_owned(),
        description: input.description,
        imports: input.imports,
        code: input.code,
        distributed: input.distributed,
        framework: input.framework,
    }
}

fn father_of(father: Option<i64>, otherwise: FatherChange) -> FatherChange {
    father.map_or(otherwise, FatherChange::Set)
}

/// A stored model, or `NotFound(missing)`: routes look it up before they read the body, then
/// hand it to [`update_model`] or [`patch_model`].
pub async fn find_model(ctx: &Ctx, id: i32, missing: Missing) -> Result<ModelRow, Error> {
    ctx.db(move |c| models::find_row(c, id)?.ok_or(Error::NotFound(missing))).await
}

/// The names of the model's fields that `fields` and `father` change.
fn model_changes(current: &ModelRow, fields: &ModelFields, father: FatherChange) -> Vec<&'static str> {
    let father_changed = match father {
        FatherChange::Keep => false,
        FatherChange::Clear => current.father_id.is_some(),
        FatherChange::Set(f) => current.father_id.map(i64::from) != Some(f),
    };
    [
        ("name", current.name != fields.name),
        ("description", current.description != fields.description),
        ("imports", current.imports != fields.imports),
        ("code", current.code != fields.code),
        ("distributed", current.distributed != fields.distributed),
        ("framework", current.framework != fields.framework),
        ("father", father_changed),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// Stores a new model once its executor could build it.
pub async fn create_model(ctx: &Ctx, actor: &Actor, input: ModelInput) -> Result<i32, Error> {
    let father = father_of(input.father.0, FatherChange::Clear);
    let fields = fields_of(input);
    check_code(ctx, &fields).await?;
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            let id = models::create(c, &fields, father)?;
            let given = ["name", "description", "imports", "code", "distributed", "framework", "father"];
            actor.record(c, &Change::new("add", "models", Some(id), &fields.name).fields(&given))?;
            Ok::<_, Error>(id)
        })
    })
    .await
}

/// Writes `fields` to model `current` and records which of them changed.
fn write_model(
    c: &mut DbConnection,
    actor: &Actor,
    current: &ModelRow,
    fields: &ModelFields,
    father: FatherChange,
) -> Result<(), Error> {
    write_transaction(c, |c| {
        models::update(c, current.id, fields, father).map_err(|e| Error::from_db(e, Missing::Model))?;
        let changed = model_changes(current, fields, father);
        actor.record(c, &Change::new("change", "models", Some(current.id), &fields.name).fields(&changed))?;
        Ok(())
    })
}

/// Replaces the fields of model `current` (its father is kept unless given).
pub async fn update_model(ctx: &Ctx, actor: &Actor, current: ModelRow, input: ModelInput) -> Result<(), Error> {
    let father = father_of(input.father.0, FatherChange::Keep);
    let fields = fields_of(input);
    check_changed_code(ctx, &fields, &current).await?;
    let actor = actor.clone();
    ctx.db(move |c| write_model(c, &actor, &current, &fields, father)).await
}

/// Changes the fields a patch gives to model `current` and returns the model.
pub async fn patch_model(ctx: &Ctx, actor: &Actor, current: ModelRow, patch: ModelPatch) -> Result<MlModel, Error> {
    let id = current.id;
    let fields = ModelFields {
        name: patch.name.map_or_else(|| current.name.clone(), |n| n.trim().to_owned()),
        description: patch.description.unwrap_or_else(|| current.description.clone()),
        imports: patch.imports.unwrap_or_else(|| current.imports.clone()),
        code: patch.code.unwrap_or_else(|| current.code.clone()),
        distributed: patch.distributed.unwrap_or(current.distributed),
        framework: patch.framework.unwrap_or(current.framework),
    };
    check_changed_code(ctx, &fields, &current).await?;
    let father = father_of(patch.father.and_then(|f| f.0), FatherChange::Keep);
    let actor = actor.clone();
    ctx.db(move |c| {
        write_model(c, &actor, &current, &fields, father)?;
        models::get(c, id)?.ok_or(Error::NotFound(Missing::Object))
    })
    .await
}

/// Deletes a model that no configuration uses, with its results' files.
pub async fn delete_model(ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
    let actor = actor.clone();
    let results = ctx
        .db(move |c| {
            write_transaction(c, |c| {
                let name = models::find_row(c, id)?.map(|m| m.name).unwrap_or_default();
                let results = models::delete(c, id).map_err(|e| Error::from_db(e, Missing::Model))?;
                actor.record(c, &Change::new("delete", "models", Some(id), &name))?;
                Ok::<_, Error>(results)
            })
        })
        .await?;
    for result in results {
        if let Err(e) = ctx.store.delete_all(result) {
            tracing::warn!(result.id = result, error = %e, "could not delete the files of a deleted model's result");
        }
    }
    Ok(())
}

/// The models of a configuration with every model below them in their distributed chains.
fn expanded(c: &mut DbConnection, ids: &[i64]) -> Result<Vec<i32>, Error> {
    let narrowed = ids
        .iter()
        .map(|id| narrow_id(*id).ok_or(Violation::ModelMissing(*id)))
        .collect::<Result<Vec<i32>, Violation>>()?;
    let children = models::child_map(c)?;
    Ok(expand_chains(&narrowed, |id| children.get(&id).copied()))
}

/// Stores a new configuration of models (whole chains).
pub async fn create_configuration(ctx: &Ctx, actor: &Actor, input: ConfigurationInput) -> Result<i32, Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            let ids = expanded(c, &input.ml_models)?;
            let name = input.name.trim();
            let id = configurations::create(c, name, &input.description, &ids)?;
            let given = ["name", "description", "ml_models"];
            actor.record(c, &Change::new("add", "configurations", Some(id), name).fields(&given))?;
            Ok(id)
        })
    })
    .await
}

/// Writes a configuration's changes and records which fields changed.
fn write_configuration(
    c: &mut DbConnection,
    actor: &Actor,
    id: i32,
    name: Option<&str>,
    description: Option<&str>,
    ids: Option<&[i32]>,
) -> Result<(), Error> {
    write_transaction(c, |c| {
        let before = configurations::get(c, id)?;
        configurations::update(c, id, name, description, ids).map_err(|e| Error::from_db(e, Missing::Configuration))?;
        let Some(before) = before else { return Ok(()) };
        let mut old_models: Vec<i32> = before.ml_models.iter().map(|m| m.id).collect();
        old_models.sort_unstable();
        let mut new_models: Option<Vec<i32>> = ids.map(<[i32]>::to_vec);
        if let Some(models) = new_models.as_mut() {
            models.sort_unstable();
            models.dedup();
        }
        let changed: Vec<&str> = [
            ("name", name.is_some_and(|n| n != before.name)),
            ("description", description.is_some_and(|d| d != before.description)),
            ("ml_models", new_models.is_some_and(|m| m != old_models)),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect();
        let repr = name.unwrap_or(&before.name);
        actor.record(c, &Change::new("change", "configurations", Some(id), repr).fields(&changed))?;
        Ok(())
    })
}

/// Whether configuration `id` exists (routes check it before reading their body).
pub async fn configuration_exists(ctx: &Ctx, id: i32) -> Result<bool, Error> {
    ctx.db(move |c| Ok::<_, Error>(configurations::exists(c, id)?)).await
}

/// Replaces a configuration's name, description and models.
pub async fn update_configuration(ctx: &Ctx, actor: &Actor, id: i32, input: ConfigurationInput) -> Result<(), Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        let ids = expanded(c, &input.ml_models)?;
        write_configuration(c, &actor, id, Some(input.name.trim()), Some(&input.description), Some(&ids))
    })
    .await
}

/// Changes what a patch gives and returns the configuration.
pub async fn patch_configuration(
    ctx: &Ctx,
    actor: &Actor,
    id: i32,
    patch: ConfigurationPatch,
) -> Result<Configuration, Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        let ids = patch.ml_models.as_deref().map(|ids| expanded(c, ids)).transpose()?;
        let name = patch.name.as_deref().map(str::trim);
        write_configuration(c, &actor, id, name, patch.description.as_deref(), ids.as_deref())?;
        configurations::get(c, id)?.ok_or(Error::NotFound(Missing::Object))
    })
    .await
}

/// Deletes a configuration no deployment uses.
pub async fn delete_configuration(ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            let name = configurations::get(c, id)?.map(|cfg| cfg.name).unwrap_or_default();
            configurations::delete(c, id).map_err(|e| Error::from_db(e, Missing::Configuration))?;
            actor.record(c, &Change::new("delete", "configurations", Some(id), &name))?;
            Ok(())
        })
    })
    .await
}

/// Deletes a deployment whose results were all deleted.
pub async fn delete_deployment(ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            deployments::delete(c, id).map_err(|e| Error::from_db(e, Missing::Deployment))?;
            actor.record(c, &Change::new("delete", "deployments", Some(id), &format!("Deployment {id}")))?;
            Ok(())
        })
    })
    .await
}
