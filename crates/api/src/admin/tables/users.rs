//! Users (superusers only): add with a password, change e-mail and rights, deactivate, set a
//! password; the password policy and the "last superuser" rule are the accounts use cases'.

use kafkaml_domain::{Role, Violation};
use kafkaml_persistence::repo::counts::Counts;
use secrecy::SecretString;

use crate::admin::form::{Choice, Field, FormErrors, Submitted};
use crate::admin::list::{Filter, Row};
use crate::admin::tables::{when, AdminTable, Editor};
use crate::admin::view::Doomed;
use crate::usecase::accounts::{self, AccountChanges, NewAccount};
use crate::usecase::{Actor, Ctx, Error};

/// The users table.
pub struct Users;

const FILTERS: &[Filter] = &[
    Filter { key: "staff", label: "staff status" },
    Filter { key: "superuser", label: "superuser status" },
    Filter { key: "active", label: "active" },
];

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// The password fields' error, keyed by the field the visitor must fix.
fn password_error(e: Error) -> FormErrors {
    match e {
        Error::Rule(v @ (Violation::UsernameInvalid | Violation::NameTaken { .. })) => {
            FormErrors::field("username", v.to_string())
        }
        Error::Rule(
            v @ (Violation::PasswordTooShort(_)
            | Violation::PasswordTooCommon
            | Violation::PasswordNumeric
            | Violation::PasswordTooSimilar(_)),
        ) => FormErrors::field("password", v.to_string()),
        other => other.into(),
    }
}

/// The role field: what the user may do through the API and this site.
fn role_field(current: Role) -> Field {
    let current = [current.as_str().to_owned()];
    Field::select("role", "Role", Role::ALL.iter().map(|r| Choice::new(r.as_str(), r.as_str(), &current)).collect())
        .help("viewer: reads only; operator: everything but users and tokens. Superusers may do everything.")
}

/// The role a form names; `unchanged` when it names none.
fn typed_role(form: &Submitted, unchanged: Role) -> Result<Role, FormErrors> {
    match form.get("role") {
        "" => Ok(unchanged),
        role => Role::parse(role).ok_or_else(|| FormErrors::field("role", "Select a valid choice.")),
    }
}

/// The new password of a form, when one was typed; both fields must match.
fn typed_password(form: &Submitted) -> Result<Option<SecretString>, FormErrors> {
    let (one, two) = (form.get("password"), form.get("password2"));
    if one.is_empty() && two.is_empty() {
        return Ok(None);
    }
    if one != two {
        return Err(FormErrors::field("password2", Violation::PasswordMismatch.to_string()));
    }
    Ok(Some(SecretString::from(one.to_owned())))
}

#[async_trait::async_trait]
impl AdminTable for Users {
    fn slug(&self) -> &'static str {
        "users"
    }
    fn title(&self) -> &'static str {
        "Users"
    }
    fn singular(&self) -> &'static str {
        "user"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["Username", "Email", "Role", "Staff", "Superuser", "Active", "Last login"]
    }
    fn filters(&self) -> &'static [Filter] {
        FILTERS
    }
    fn superusers_only(&self) -> bool {
        true
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.users
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        Ok(accounts::list_users(ctx)
            .await?
            .into_iter()
            .map(|u| Row {
                id: u.id,
                search: vec![u.username.clone(), u.email.clone()],
                facets: vec![yes_no(u.is_staff), yes_no(u.is_superuser), yes_no(u.is_active)],
                cells: vec![
                    u.username.clone().into(),
                    u.email.clone().into(),
                    u.role_name().into(),
                    u.is_staff.into(),
                    u.is_superuser.into(),
                    u.is_active.into(),
                    u.last_login.as_ref().map(when).unwrap_or_default().into(),
                ],
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let Some(id) = id else {
            return Ok(Some(Editor {
                repr: String::new(),
                fields: vec![
                    Field::text("username", "Username", "").required().help("Letters, digits and @/./+/-/_ only."),
                    Field::email("email", "Email address", ""),
                    Field::password("password", "Password")
                        .required()
                        .help("At least 8 characters, not a common password, not only digits."),
                    Field::password("password2", "Password (again)").required().help(""),
                    role_field(Role::Operator),
                    Field::checkbox("is_staff", "Staff status", true)
                        .help("May sign in to this admin site (and so to the web UI)."),
                    Field::checkbox("is_superuser", "Superuser status", false)
                        .help("Has every permission, including managing users."),
                ],
                editable: true,
                actions: Vec::new(),
            }));
        };
        let Some(user) = accounts::user(ctx, id).await? else { return Ok(None) };
        Ok(Some(Editor {
            repr: user.username.clone(),
            fields: vec![
                Field::readonly("username", "Username", user.username.clone()),
                Field::email("email", "Email address", user.email.clone()),
                Field::checkbox("is_active", "Active", user.is_active)
                    .help("Unticked, the user can not sign in and their sessions end."),
                role_field(user.role),
                Field::checkbox("is_staff", "Staff status", user.is_staff),
                Field::checkbox("is_superuser", "Superuser status", user.is_superuser),
                Field::password("password", "New password"),
                Field::password("password2", "New password (again)").help(""),
                Field::readonly("date_joined", "Date joined", when(&user.date_joined)),
                Field::readonly("last_login", "Last login", user.last_login.as_ref().map(when).unwrap_or_default()),
            ],
            editable: true,
            actions: Vec::new(),
        }))
    }

    async fn save(&self, ctx: &Ctx, actor: &Actor, id: Option<i32>, form: &Submitted) -> Result<i32, FormErrors> {
        let password = typed_password(form)?;
        match id {
            None => {
                let Some(password) = password else {
                    return Err(FormErrors::field("password", "This field is required."));
                };
                let account = NewAccount {
                    username: form.get("username").to_owned(),
                    email: form.get("email").to_owned(),
                    password,
                    is_staff: form.checked("is_staff"),
                    is_superuser: form.checked("is_superuser"),
                    role: typed_role(form, Role::Operator)?,
                };
                Ok(accounts::create_user(ctx, actor, account).await.map_err(password_error)?.id)
            }
            Some(id) => {
                let current = accounts::user(ctx, id).await?.map_or(Role::Viewer, |u| u.role);
                let changes = AccountChanges {
                    email: form.get("email").to_owned(),
                    is_active: form.checked("is_active"),
                    is_staff: form.checked("is_staff"),
                    is_superuser: form.checked("is_superuser"),
                    role: typed_role(form, current)?,
                };
                if let Some(password) = password {
                    accounts::set_password(ctx, actor, id, password).await.map_err(password_error)?;
                }
                accounts::update_user(ctx, actor, id, changes).await?;
                Ok(id)
            }
        }
    }

    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error> {
        Ok(accounts::user(ctx, id).await?.map(|u| Doomed {
            repr: format!("User {}", u.username),
            consequences: vec!["Their sessions (their audit entries stay, under their name)".to_owned()],
        }))
    }

    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
        accounts::delete_user(ctx, actor, id).await
    }
}
