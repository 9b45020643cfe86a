//! Models: name, framework, distributed chain and code, checked by the executors on save as in
//! the REST API.

use kafkaml_domain::inputs::ModelInput;
use kafkaml_domain::Framework;
use kafkaml_persistence::repo::counts::Counts;
use kafkaml_persistence::repo::models::{self, ModelFilter};
use kafkaml_persistence::repo::results;

use crate::admin::form::{Body, Choice, Field, FormErrors, Submitted};
use crate::admin::list::{Filter, Row};
use crate::admin::tables::{AdminTable, Editor};
use crate::admin::view::Doomed;
use crate::usecase::{catalog, Actor, Ctx, Error, Missing};

/// The models table.
pub struct Models;

const FILTERS: &[Filter] =
    &[Filter { key: "framework", label: "framework" }, Filter { key: "distributed", label: "distributed" }];

fn framework_choices(current: &str) -> Vec<Choice> {
    let current = [current.to_owned()];
    vec![Choice::new("tf", "TensorFlow", &current), Choice::new("pth", "PyTorch", &current)]
}

#[async_trait::async_trait]
impl AdminTable for Models {
    fn slug(&self) -> &'static str {
        "models"
    }
    fn title(&self) -> &'static str {
        "Models"
    }
    fn singular(&self) -> &'static str {
        "model"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["Name", "Id", "Framework", "Distributed", "Father", "Description"]
    }
    fn filters(&self) -> &'static [Filter] {
        FILTERS
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.models
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        let list = ctx.db(|c| Ok::<_, Error>(models::list(c, ModelFilter::All)?)).await?;
        Ok(list
            .into_iter()
            .map(|m| {
                let father = m.father.as_ref().map(|f| f.name.clone()).unwrap_or_default();
                Row {
                    id: m.id,
                    search: vec![m.name.clone(), m.description.clone()],
                    facets: vec![m.framework.to_string(), if m.distributed { "yes" } else { "no" }.to_owned()],
                    cells: vec![
                        m.name.into(),
                        m.id.into(),
                        m.framework.to_string().into(),
                        m.distributed.into(),
                        father.into(),
                        m.description.into(),
                    ],
                }
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let (current, fathers) = ctx
            .db(move |c| {
                let current = id.map(|id| models::find_row(c, id)).transpose()?;
                let fathers = models::list(c, ModelFilter::Distributed)?;
                Ok::<_, Error>((current, fathers))
            })
            .await?;
        if id.is_some() && current.as_ref().is_none_or(Option::is_none) {
            return Ok(None);
        }
        let current = current.flatten();
        let father_now = current.as_ref().and_then(|m| m.father_id).map(|f| f.to_string()).unwrap_or_default();
        let mut father_choices = vec![Choice::new("", "(none)", std::slice::from_ref(&father_now))];
        father_choices.extend(
            fathers
                .iter()
                .filter(|f| Some(f.id) != id)
                .map(|f| Choice::new(f.id, format!("{} ({})", f.name, f.id), std::slice::from_ref(&father_now))),
        );
        let (name, description, imports, code, distributed, framework) = current.as_ref().map_or_else(
            || (String::new(), String::new(), String::new(), String::new(), false, Framework::Tf),
            |m| (m.name.clone(), m.description.clone(), m.imports.clone(), m.code.clone(), m.distributed, m.framework),
        );
        Ok(Some(Editor {
            repr: name.clone(),
            fields: vec![
                Field::text("name", "Name", name).required().help("Unique, at most 30 characters."),
                Field::text("description", "Description", description).help("At most 100 characters."),
                Field::select("framework", "Framework", framework_choices(&framework.to_string())).required(),
                Field::checkbox("distributed", "Distributed", distributed),
                Field::select("father", "Father", father_choices).help("The upper model of a distributed model."),
                Field::textarea("imports", "Imports", imports, 4),
                Field::textarea("code", "Code", code, 16).required().help("Python code that defines `model`."),
            ],
            editable: true,
            actions: Vec::new(),
        }))
    }

    async fn save(&self, ctx: &Ctx, actor: &Actor, id: Option<i32>, form: &Submitted) -> Result<i32, FormErrors> {
        let input: ModelInput = Body::new()
            .text(form, "name")
            .text(form, "description")
            .text(form, "framework")
            .flag(form, "distributed")
            .id(form, "father")
            .text(form, "imports")
            .text(form, "code")
            .parse()?;
        match id {
            None => Ok(catalog::create_model(ctx, actor, input).await?),
            Some(id) => {
                let current = catalog::find_model(ctx, id, Missing::Model).await?;
                catalog::update_model(ctx, actor, current, input).await?;
                Ok(id)
            }
        }
    }

    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error> {
        ctx.db(move |c| {
            let Some(model) = models::find_row(c, id)? else { return Ok(None) };
            let consequences = results::of_model(c, id)?
                .into_iter()
                .map(|(result, deployment)| format!("Training result {result} (deployment {deployment}) and its files"))
                .collect();
            Ok::<_, Error>(Some(Doomed { repr: format!("Model {}", model.name), consequences }))
        })
        .await
    }

    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
        catalog::delete_model(ctx, actor, id).await
    }
}
