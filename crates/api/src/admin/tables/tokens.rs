//! API tokens (superusers only): add one for a user (its key is shown on the next page, once),
//! see what a token is and when it was last used, revoke it (deleting it here is revoking it).
//! The rules are the tokens use cases'.

use kafkaml_domain::datetime;
use kafkaml_persistence::repo::counts::Counts;

use crate::admin::form::{Choice, Field, FormErrors, Submitted};
use crate::admin::list::{Filter, Row};
use crate::admin::tables::{when, Added, AdminTable, Editor, Secret};
use crate::admin::view::Doomed;
use crate::usecase::accounts;
use crate::usecase::tokens::{self, Token};
use crate::usecase::{Actor, Ctx, Error, Missing};

/// The tokens table.
pub struct Tokens;

const FILTERS: &[Filter] = &[Filter { key: "user", label: "user" }];

/// The fields a refusal of the tokens use cases may name.
const FIELDS: &[&str] = &["user", "name", "expires"];

/// A key as lists show it: its first characters, never the whole key.
fn shown_key(token: &Token) -> String {
    format!("{}…", token.key_prefix)
}

/// An optional time, or `never`.
fn when_or_never(t: Option<&chrono::NaiveDateTime>) -> String {
    t.map_or_else(|| "never".to_owned(), when)
}

#[async_trait::async_trait]
impl AdminTable for Tokens {
    fn slug(&self) -> &'static str {
        "tokens"
    }
    fn title(&self) -> &'static str {
        "Tokens"
    }
    fn singular(&self) -> &'static str {
        "token"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["Name", "User", "Key", "Created", "Expires", "Last used"]
    }
    fn filters(&self) -> &'static [Filter] {
        FILTERS
    }
    fn superusers_only(&self) -> bool {
        true
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.tokens
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        Ok(tokens::list_tokens(ctx, None)
            .await?
            .into_iter()
            .map(|t| Row {
                id: t.id,
                search: vec![t.name.clone(), t.username.clone(), t.key_prefix.clone()],
                facets: vec![t.username.clone()],
                cells: vec![
                    t.name.clone().into(),
                    t.username.clone().into(),
                    shown_key(&t).into(),
                    when(&t.created).into(),
                    when_or_never(t.expires.as_ref()).into(),
                    when_or_never(t.last_used.as_ref()).into(),
                ],
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let Some(id) = id else {
            let users = accounts::list_users(ctx).await?;
            let choices = users
                .iter()
                .filter(|u| u.is_active)
                .map(|u| Choice::new(u.id, format!("{} ({})", u.username, u.role_name()), &[]))
                .collect();
            return Ok(Some(Editor {
                repr: String::new(),
                fields: vec![
                    Field::select("user", "User", choices)
                        .required()
                        .help("The token acts for this user, with the user's role."),
                    Field::text("name", "Name", "").required().help("What the token is for (ci, a notebook…)."),
                    Field::date("expires", "Expires", "").help(
                        "Midnight UTC at the start of this day; empty: never. The key is shown once, after saving.",
                    ),
                ],
                editable: true,
                actions: Vec::new(),
            }));
        };
        let Some(token) = tokens::token(ctx, id).await? else { return Ok(None) };
        Ok(Some(Editor {
            repr: token.repr(),
            fields: vec![
                Field::readonly("name", "Name", token.name.clone()),
                Field::readonly("user", "User", token.username.clone()),
                Field::readonly("key", "Key", shown_key(&token))
                    .help("Only its first characters: the key was shown once, when the token was created."),
                Field::readonly("created", "Created", when(&token.created)),
                Field::readonly("expires", "Expires", when_or_never(token.expires.as_ref())),
                Field::readonly("last_used", "Last used", when_or_never(token.last_used.as_ref())),
            ],
            editable: false,
            actions: Vec::new(),
        }))
    }

    async fn save(&self, ctx: &Ctx, actor: &Actor, id: Option<i32>, form: &Submitted) -> Result<i32, FormErrors> {
        match id {
            None => Ok(self.add(ctx, actor, form).await?.id),
            // The change page is read-only: a token is revoked and replaced, never changed.
            Some(_) => Err(Error::NotFound(Missing::Object).into()),
        }
    }

    async fn add(&self, ctx: &Ctx, actor: &Actor, form: &Submitted) -> Result<Added, FormErrors> {
        let user = form.get("user").parse::<i32>().map_err(|_| FormErrors::field("user", "Select a valid choice."))?;
        let placed = |e: Error| match e {
            Error::NotFound(_) => FormErrors::field("user", "Select a valid choice."),
            other => FormErrors::placed(other, FIELDS),
        };
        let expires = tokens::parse_expiry(form.get("expires"), datetime::now()).map_err(placed)?;
        let created = tokens::create_token(ctx, actor, user, form.get("name"), expires).await.map_err(placed)?;
        Ok(Added { id: created.token.id, secret: Some(Secret { label: "Key", value: created.key }) })
    }

    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error> {
        Ok(tokens::token(ctx, id).await?.map(|t| Doomed {
            repr: format!("Token {}", t.repr()),
            consequences: vec!["Revoked: its key stops working at once".to_owned()],
        }))
    }

    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
        tokens::revoke_token(ctx, actor, id).await
    }
}
