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
use kafkaml_persistence::DbConnection;

use crate::usecase::{Ctx, Error, Missing};

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

/// Stores a new model once its executor could build it.
pub async fn create_model(ctx: &Ctx, input: ModelInput) -> Result<i32, Error> {
    let father = father_of(input.father.0, FatherChange::Clear);
    let fields = fields_of(input);
    check_code(ctx, &fields).await?;
    ctx.db(move |c| Ok::<_, Error>(models::create(c, &fields, father)?)).await
}

/// Replaces the fields of model `current` (its father is kept unless given).
pub async fn update_model(ctx: &Ctx, current: ModelRow, input: ModelInput) -> Result<(), Error> {
    let id = current.id;
    let father = father_of(input.father.0, FatherChange::Keep);
    let fields = fields_of(input);
    check_changed_code(ctx, &fields, &current).await?;
    ctx.db(move |c| models::update(c, id, &fields, father).map_err(|e| Error::from_db(e, Missing::Model))).await
}

/// Changes the fields a patch gives to model `current` and returns the model.
pub async fn patch_model(ctx: &Ctx, current: ModelRow, patch: ModelPatch) -> Result<MlModel, Error> {
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
    ctx.db(move |c| {
        models::update(c, id, &fields, father)?;
        models::get(c, id)?.ok_or(Error::NotFound(Missing::Object))
    })
    .await
}

/// Deletes a model that no configuration uses, with its results' files.
pub async fn delete_model(ctx: &Ctx, id: i32) -> Result<(), Error> {
    let results = ctx.db(move |c| models::delete(c, id).map_err(|e| Error::from_db(e, Missing::Model))).await?;
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
pub async fn create_configuration(ctx: &Ctx, input: ConfigurationInput) -> Result<i32, Error> {
    ctx.db(move |c| {
        let ids = expanded(c, &input.ml_models)?;
        Ok(configurations::create(c, input.name.trim(), &input.description, &ids)?)
    })
    .await
}

/// Whether configuration `id` exists (routes check it before reading their body).
pub async fn configuration_exists(ctx: &Ctx, id: i32) -> Result<bool, Error> {
    ctx.db(move |c| Ok::<_, Error>(configurations::exists(c, id)?)).await
}

/// Replaces a configuration's name, description and models.
pub async fn update_configuration(ctx: &Ctx, id: i32, input: ConfigurationInput) -> Result<(), Error> {
    ctx.db(move |c| {
        let ids = expanded(c, &input.ml_models)?;
        configurations::update(c, id, Some(input.name.trim()), Some(&input.description), Some(&ids))
            .map_err(|e| Error::from_db(e, Missing::Configuration))
    })
    .await
}

/// Changes what a patch gives and returns the configuration.
pub async fn patch_configuration(ctx: &Ctx, id: i32, patch: ConfigurationPatch) -> Result<Configuration, Error> {
    ctx.db(move |c| {
        let ids = patch.ml_models.as_deref().map(|ids| expanded(c, ids)).transpose()?;
        let name = patch.name.as_deref().map(str::trim);
        configurations::update(c, id, name, patch.description.as_deref(), ids.as_deref())?;
        configurations::get(c, id)?.ok_or(Error::NotFound(Missing::Object))
    })
    .await
}

/// Deletes a configuration no deployment uses.
pub async fn delete_configuration(ctx: &Ctx, id: i32) -> Result<(), Error> {
    ctx.db(move |c| configurations::delete(c, id).map_err(|e| Error::from_db(e, Missing::Configuration))).await
}

/// Deletes a deployment whose results were all deleted.
pub async fn delete_deployment(ctx: &Ctx, id: i32) -> Result<(), Error> {
    ctx.db(move |c| deployments::delete(c, id).map_err(|e| Error::from_db(e, Missing::Deployment))).await
}
