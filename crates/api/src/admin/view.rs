//! The pages' templates (askama, checked at compile time; `crates/api/templates/admin/`) and how
//! an HTML answer is sent: a content security policy that allows nothing but this site's own
//! style sheet and forms, and no caching.

use actix_web::http::header;
use actix_web::HttpResponse;
use askama::Template;

use crate::admin::form::Field;
use crate::admin::tables::ObjectAction;

/// The content security policy of every admin page: no scripts at all.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One step of the breadcrumbs.
#[derive(Debug, Clone)]
pub struct Crumb {
    /// What the visitor reads.
    pub label: String,
    /// Where it leads (empty: the current page).
    pub href: String,
}

impl Crumb {
    /// A step.
    pub fn new(label: impl Into<String>, href: impl Into<String>) -> Self {
        Crumb { label: label.into(), href: href.into() }
    }
}

/// What every page shows around its content.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The page's title.
    pub title: String,
    /// The relative way back to the admin's root.
    pub root: String,
    /// The signed-in user's name.
    pub user: Option<String>,
    /// The CSRF token of the page's forms.
    pub csrf: String,
    /// The breadcrumbs.
    pub crumbs: Vec<Crumb>,
    /// Messages left by the previous action.
    pub messages: Vec<String>,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    /// The frame.
    pub page: Chrome,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// The username typed last.
    pub username: String,
    /// Where to go after signing in.
    pub next: String,
}

/// A table on the index.
#[derive(Debug, Clone)]
pub struct TableLink {
    /// Its path segment.
    pub slug: &'static str,
    /// Its title.
    pub title: &'static str,
    /// How many rows it has.
    pub count: i64,
    /// Whether the visitor may add rows.
    pub can_add: bool,
}

/// One entry of the audit trail, as shown.
#[derive(Debug, Clone)]
pub struct ActionLine {
    /// What was done.
    pub action: String,
    /// The kind of object.
    pub kind: String,
    /// The object as shown when it changed.
    pub repr: String,
    /// The object's change page, relative to the page (empty once deleted).
    pub href: String,
    /// The changed fields.
    pub fields: String,
    /// Who did it.
    pub actor: String,
    /// When.
    pub time: String,
}

/// The index: every table and the recent actions.
#[derive(Template)]
#[template(path = "admin/index.html")]
pub struct IndexPage {
    /// The frame.
    pub page: Chrome,
    /// The tables.
    pub tables: Vec<TableLink>,
    /// The latest entries of the audit trail.
    pub actions: Vec<ActionLine>,
}

/// A column heading that orders the list.
#[derive(Debug, Clone)]
pub struct ColumnLink {
    /// The heading.
    pub label: &'static str,
    /// The query string ordering by it.
    pub href: String,
    /// `" ▲"`, `" ▼"` or nothing.
    pub arrow: &'static str,
}

/// A row as shown.
#[derive(Debug, Clone)]
pub struct ListRow {
    /// The object's id.
    pub id: i32,
    /// The cells' texts.
    pub cells: Vec<String>,
}

/// A link to a page of the list.
#[derive(Debug, Clone)]
pub struct PageLink {
    /// The page number.
    pub label: String,
    /// Its query string (empty: the current page).
    pub href: String,
}

/// One choice of a filter.
#[derive(Debug, Clone)]
pub struct FilterChoice {
    /// The value.
    pub label: String,
    /// The query string choosing it.
    pub href: String,
    /// Whether it is chosen.
    pub selected: bool,
}

/// A filter with its choices.
#[derive(Debug, Clone)]
pub struct FilterBox {
    /// What it filters by.
    pub label: &'static str,
    /// Its choices, "All" first.
    pub choices: Vec<FilterChoice>,
}

/// A table's list.
#[derive(Template)]
#[template(path = "admin/list.html")]
pub struct ListPage {
    /// The frame.
    pub page: Chrome,
    /// The table's title.
    pub title: &'static str,
    /// One object of the table.
    pub singular: &'static str,
    /// Whether the visitor may add rows.
    pub can_add: bool,
    /// Whether rows can be deleted from here.
    pub can_delete: bool,
    /// The search text.
    pub q: String,
    /// Parameters the search form keeps.
    pub keep: Vec<(String, String)>,
    /// How many rows matched.
    pub shown: usize,
    /// How many rows there are.
    pub total: usize,
    /// The column headings.
    pub columns: Vec<ColumnLink>,
    /// The rows of this page.
    pub rows: Vec<ListRow>,
    /// The pages.
    pub pages: Vec<PageLink>,
    /// The filters.
    pub filters: Vec<FilterBox>,
}

/// An add or change form.
#[derive(Template)]
#[template(path = "admin/form.html")]
pub struct FormPage {
    /// The frame.
    pub page: Chrome,
    /// "Add model", "Change model"…
    pub heading: String,
    /// The object's id (change pages).
    pub object_id: Option<i32>,
    /// Errors about the whole form.
    pub errors: Vec<String>,
    /// The object's actions (stop, re-send…).
    pub actions: Vec<ObjectAction>,
    /// The fields.
    pub fields: Vec<Field>,
    /// Whether the form can be saved.
    pub editable: bool,
    /// Whether the object can be deleted.
    pub can_delete: bool,
}

/// The answer to a form that added an object with a secret: the secret, this once.
#[derive(Template)]
#[template(path = "admin/secret.html")]
pub struct SecretPage {
    /// The frame.
    pub page: Chrome,
    /// "Token added".
    pub heading: String,
    /// "The token 3 was added successfully."
    pub message: String,
    /// What the secret is ("Key").
    pub label: &'static str,
    /// The secret.
    pub secret: String,
    /// One object of the table.
    pub singular: &'static str,
    /// The new object's id.
    pub id: i32,
}

/// An object to delete and what goes with it.
#[derive(Debug, Clone)]
pub struct Doomed {
    /// The object.
    pub repr: String,
    /// What is deleted or stopped with it.
    pub consequences: Vec<String>,
}

/// The delete confirmation.
#[derive(Template)]
#[template(path = "admin/delete.html")]
pub struct DeletePage {
    /// The frame.
    pub page: Chrome,
    /// The objects.
    pub objects: Vec<Doomed>,
    /// Why some cannot be deleted (then nothing is).
    pub blocked: Vec<String>,
    /// Their ids.
    pub ids: Vec<i32>,
    /// The page to go back to.
    pub back: String,
}

/// An object's history.
#[derive(Template)]
#[template(path = "admin/history.html")]
pub struct HistoryPage {
    /// The frame.
    pub page: Chrome,
    /// The object.
    pub repr: String,
    /// Its audit entries, oldest first.
    pub actions: Vec<ActionLine>,
}

/// The password change form.
#[derive(Template)]
#[template(path = "admin/password.html")]
pub struct PasswordPage {
    /// The frame.
    pub page: Chrome,
    /// The heading.
    pub heading: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Whether the current password is asked (one's own password).
    pub ask_current: bool,
}

/// Sends a rendered page with the admin's headers.
pub fn html(status: actix_web::http::StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "rendering an admin page");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("Internal server error.")
        }
    }
}
