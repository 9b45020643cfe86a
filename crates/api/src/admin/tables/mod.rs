//! The tables of the admin site. Each implements [`AdminTable`]: what its list shows, its form,
//! how a submitted form is saved, what goes with a deleted object, and its actions — always
//! through the use cases the REST API calls, so both doors share every rule.
//!
//! A new table is a module here implementing [`AdminTable`] and a line in [`all`].

mod configurations;
mod datasources;
mod deployments;
mod inferences;
mod iot;
mod models;
mod results;
mod tokens;
mod users;

use kafkaml_persistence::repo::counts::Counts;
use secrecy::SecretString;

use crate::admin::form::{Field, FormErrors, Submitted};
use crate::admin::list::{Filter, Row};
use crate::admin::view::Doomed;
use crate::usecase::{Actor, Ctx, Error};

/// An action of one object (a button on its change page).
#[derive(Debug, Clone, Copy)]
pub struct ObjectAction {
    /// Its path segment (`stop`).
    pub name: &'static str,
    /// Its button's text.
    pub label: &'static str,
}

/// The form of one object, or of a new one.
#[derive(Debug, Clone)]
pub struct Editor {
    /// How the object is shown (its name); empty for a new one.
    pub repr: String,
    /// The fields, filled with the object's values.
    pub fields: Vec<Field>,
    /// Whether the form can be saved (tables written only by machines show a read-only page).
    pub editable: bool,
    /// The actions that apply to the object now.
    pub actions: Vec<ObjectAction>,
}

/// A secret the visitor sees once, on the page answering the form that added its object, and
/// never again (it is not stored): an API token's key.
#[derive(Debug)]
pub struct Secret {
    /// What it is (`Key`).
    pub label: &'static str,
    /// The secret.
    pub value: SecretString,
}

/// An object just added.
#[derive(Debug)]
pub struct Added {
    /// Its id.
    pub id: i32,
    /// Its secret, shown this once.
    pub secret: Option<Secret>,
}

/// One table of the admin site.
#[async_trait::async_trait]
pub trait AdminTable: Sync {
    /// Its path segment and audit name (`models`).
    fn slug(&self) -> &'static str;
    /// Its title (`Models`).
    fn title(&self) -> &'static str;
    /// One of its objects (`model`).
    fn singular(&self) -> &'static str;
    /// The headings of its list; the first column links to the object.
    fn columns(&self) -> &'static [&'static str];
    /// The filters of its list.
    fn filters(&self) -> &'static [Filter] {
        &[]
    }
    /// Whether objects can be added here.
    fn can_add(&self) -> bool {
        true
    }
    /// Whether objects can be deleted here.
    fn can_delete(&self) -> bool {
        true
    }
    /// Whether only superusers see the table.
    fn superusers_only(&self) -> bool {
        false
    }
    /// Its row count among `counts`.
    fn count(&self, counts: &Counts) -> i64;
    /// Every row of its list.
    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error>;
    /// The form of object `id` (`None` when it does not exist), or of a new object.
    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error>;
    /// Saves a submitted form (a new object when `id` is `None`) and returns the object's id.
    async fn save(&self, ctx: &Ctx, actor: &Actor, id: Option<i32>, form: &Submitted) -> Result<i32, FormErrors>;
    /// Adds an object from a submitted form: [`save`](AdminTable::save) with no secret, unless
    /// the table's new objects carry one that is shown only this once.
    async fn add(&self, ctx: &Ctx, actor: &Actor, form: &Submitted) -> Result<Added, FormErrors> {
        Ok(Added { id: self.save(ctx, actor, None, form).await?, secret: None })
    }
    /// Object `id` and what would go with it if deleted (`None` when it does not exist).
    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error>;
    /// Deletes object `id`.
    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error>;
    /// Runs action `name` on object `id` and says what happened; `None` for an unknown action.
    async fn act(&self, _ctx: &Ctx, _actor: &Actor, _id: i32, _name: &str) -> Result<Option<String>, Error> {
        Ok(None)
    }
}

/// Every table, in the index's order.
pub fn all() -> [&'static dyn AdminTable; 9] {
    [
        &models::Models,
        &configurations::Configurations,
        &deployments::Deployments,
        &results::Results,
        &datasources::Datasources,
        &inferences::Inferences,
        &iot::IotDevices,
        &users::Users,
        &tokens::Tokens,
    ]
}

/// The table at `slug`.
pub fn find(slug: &str) -> Option<&'static dyn AdminTable> {
    all().into_iter().find(|t| t.slug() == slug)
}

/// Formats a stored time as the admin shows it.
pub fn when(t: &chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
