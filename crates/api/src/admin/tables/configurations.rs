//! Configurations: named sets of models (whole distributed chains, expanded on save as in the
//! REST API).

use kafkaml_domain::inputs::ConfigurationInput;
use kafkaml_persistence::repo::configurations;
use kafkaml_persistence::repo::counts::Counts;
use kafkaml_persistence::repo::models::{self, ModelFilter};

use crate::admin::form::{Body, Choice, Field, FormErrors, Submitted};
use crate::admin::list::Row;
use crate::admin::tables::{when, AdminTable, Editor};
use crate::admin::view::Doomed;
use crate::usecase::{catalog, Actor, Ctx, Error};

/// The configurations table.
pub struct Configurations;

#[async_trait::async_trait]
impl AdminTable for Configurations {
    fn slug(&self) -> &'static str {
        "configurations"
    }
    fn title(&self) -> &'static str {
        "Configurations"
    }
    fn singular(&self) -> &'static str {
        "configuration"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["Name", "Id", "Models", "Deployments", "Description"]
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.configurations
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        let list = ctx.db(|c| Ok::<_, Error>(configurations::load(c, None)?)).await?;
        Ok(list
            .into_iter()
            .map(|cfg| {
                let models: Vec<String> = cfg.ml_models.iter().map(|m| m.name.clone()).collect();
                let deployments = i32::try_from(cfg.deployments.len()).unwrap_or(i32::MAX);
                Row {
                    id: cfg.id,
                    search: vec![cfg.name.clone(), cfg.description.clone(), models.join(" ")],
                    facets: Vec::new(),
                    cells: vec![
                        cfg.name.into(),
                        cfg.id.into(),
                        models.join(", ").into(),
                        deployments.into(),
                        cfg.description.into(),
                    ],
                }
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let (current, all_models) = ctx
            .db(move |c| {
                let current = id.map(|id| configurations::get(c, id)).transpose()?;
                Ok::<_, Error>((current, models::list(c, ModelFilter::All)?))
            })
            .await?;
        if id.is_some() && current.as_ref().is_none_or(Option::is_none) {
            return Ok(None);
        }
        let current = current.flatten();
        let chosen: Vec<String> =
            current.as_ref().map(|c| c.ml_models.iter().map(|m| m.id.to_string()).collect()).unwrap_or_default();
        let choices = all_models.iter().map(|m| Choice::new(m.id, format!("{} ({})", m.name, m.id), &chosen)).collect();
        let mut fields = vec![
            Field::text("name", "Name", current.as_ref().map(|c| c.name.clone()).unwrap_or_default())
                .required()
                .help("Unique, at most 30 characters."),
            Field::text(
                "description",
                "Description",
                current.as_ref().map(|c| c.description.clone()).unwrap_or_default(),
            ),
            Field::multiselect("ml_models", "Models", choices)
                .help("A distributed model brings the models below it in its chain."),
        ];
        if let Some(cfg) = &current {
            let deployments: Vec<String> =
                cfg.deployments.iter().map(|d| format!("Deployment {} ({})", d.id, when(&d.time))).collect();
            fields.push(Field::readonly("deployments", "Deployments", deployments.join(", ")));
        }
        Ok(Some(Editor {
            repr: current.map(|c| c.name).unwrap_or_default(),
            fields,
            editable: true,
            actions: Vec::new(),
        }))
    }

    async fn save(&self, ctx: &Ctx, actor: &Actor, id: Option<i32>, form: &Submitted) -> Result<i32, FormErrors> {
        let input: ConfigurationInput =
            Body::new().text(form, "name").text(form, "description").ids(form, "ml_models").parse()?;
        match id {
            None => Ok(catalog::create_configuration(ctx, actor, input).await?),
            Some(id) => {
                catalog::update_configuration(ctx, actor, id, input).await?;
                Ok(id)
            }
        }
    }

    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error> {
        ctx.db(move |c| {
            let Some(cfg) = configurations::get(c, id)? else { return Ok(None) };
            let consequences =
                cfg.ml_models.iter().map(|m| format!("Its link to model {} (the model stays)", m.name)).collect();
            Ok::<_, Error>(Some(Doomed { repr: format!("Configuration {}", cfg.name), consequences }))
        })
        .await
    }

    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
        catalog::delete_configuration(ctx, actor, id).await
    }
}
