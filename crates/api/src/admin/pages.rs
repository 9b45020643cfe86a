//! The admin's handlers: sign in and out, the index, and the generic pages every table gets
//! (list, add, change, delete, history, actions). Each reads the visit, checks who may see the
//! page (staff read; changing data needs the operator role, [`Visit::operator`]), calls the table
//! (which calls the use cases) and renders a template.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use kafkaml_persistence::repo::counts;
use secrecy::SecretString;

use crate::admin::auth::{root_of, safe_next, AdminError, Visit, CSRF_FIELD};
use crate::admin::form::{FormErrors, Submitted};
use crate::admin::list::{facet_values, select, ListQuery};
use crate::admin::tables::{self, when, Added, AdminTable, Secret};
use crate::admin::view::{
    html, ActionLine, Chrome, ColumnLink, Crumb, DeletePage, Doomed, FilterBox, FilterChoice, FormPage, HistoryPage,
    IndexPage, ListPage, ListRow, LoginPage, PageLink, PasswordPage, SecretPage, TableLink,
};
use crate::state::State;
use crate::usecase::accounts::{self, AuthError, SignInRefused, User};
use crate::usecase::{Ctx, Error};

type Page = Result<HttpResponse, AdminError>;

/// The frame of a page for `visit`.
fn chrome(req: &HttpRequest, visit: &Visit, title: impl Into<String>, crumbs: Vec<Crumb>) -> Chrome {
    Chrome {
        title: title.into(),
        root: root_of(req.path()),
        user: visit.user.as_ref().map(|u| u.username.clone()),
        csrf: visit.csrf.clone(),
        crumbs,
        messages: visit.flash.iter().cloned().collect(),
    }
}

fn home(root: &str) -> Crumb {
    Crumb::new("Home", if root.is_empty() { "./".to_owned() } else { root.to_owned() })
}

/// Home › the table › `heading`: the crumbs of a page about one object of `table`.
fn object_crumbs(root: &str, table: &dyn AdminTable, heading: &str) -> Vec<Crumb> {
    vec![home(root), Crumb::new(table.title(), format!("{root}{}/", table.slug())), Crumb::new(heading, "")]
}

/// A table the visitor may open.
fn table_for(visit: &Visit, req: &HttpRequest, slug: &str) -> Result<(&'static dyn AdminTable, User), AdminError> {
    let user = visit.staff(req)?.clone();
    let table = tables::find(slug).ok_or(AdminError::NotFound)?;
    if table.superusers_only() && !user.is_superuser {
        return Err(AdminError::Forbidden);
    }
    Ok((table, user))
}

/// A table the visitor may open and change: an operator's or a superuser's (a viewer reads only).
fn table_to_change(
    visit: &Visit,
    req: &HttpRequest,
    slug: &str,
) -> Result<(&'static dyn AdminTable, User), AdminError> {
    let found = table_for(visit, req, slug)?;
    visit.operator(req)?;
    Ok(found)
}

/// Reads a form and checks its CSRF token.
fn submitted(ctx: &Ctx, req: &HttpRequest, visit: &Visit, body: &[u8]) -> Result<Submitted, AdminError> {
    let form = Submitted::parse(body);
    visit.check_csrf(req, form.get(CSRF_FIELD), &ctx.config.origins)?;
    Ok(form)
}

fn action_line(e: kafkaml_persistence::repo::audit::Entry, root: &str) -> ActionLine {
    let href = match (e.object_id, e.action.as_str(), tables::find(&e.object_kind)) {
        (Some(id), action, Some(_)) if !matches!(action, "delete" | "revoke") => {
            format!("{root}{}/{id}/change/", e.object_kind)
        }
        _ => String::new(),
    };
    ActionLine {
        action: e.action,
        kind: e.object_kind,
        repr: e.object_repr,
        href,
        fields: e.changed_fields.replace(',', ", "),
        actor: e.actor,
        time: when(&e.time),
    }
}

/// `GET /admin/login/`.
pub async fn login_form(req: HttpRequest, state: State) -> Page {
    let visit = Visit::of(&state.ctx, &req).await?;
    let next = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.0.into_iter().find(|(k, _)| k == "next").map(|(_, v)| v))
        .unwrap_or_default();
    let page =
        LoginPage { page: chrome(&req, &visit, "Sign in", Vec::new()), error: None, username: String::new(), next };
    Ok(visit.finish(html(StatusCode::OK, &page)))
}

/// `POST /admin/login/`: checks the credentials (throttled), starts a session, goes to `next`.
pub async fn login(req: HttpRequest, state: State, body: web::Bytes) -> Page {
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let form = submitted(ctx, &req, &visit, &body)?;
    let username = form.get("username").trim().to_owned();
    let next = form.get("next").to_owned();
    let refused = |status: StatusCode, error: &str| {
        let page = LoginPage {
            page: chrome(&req, &visit, "Sign in", Vec::new()),
            error: Some(error.to_owned()),
            username: username.clone(),
            next: next.clone(),
        };
        visit.finish(html(status, &page))
    };
    match accounts::authenticate(ctx, &username, SecretString::from(form.get("password").to_owned())).await {
        Ok(user) if user.is_staff => {
            let session = accounts::start_session(ctx, &user).await?;
            let target = if safe_next(&next) && !next.is_empty() { format!("../{next}") } else { "../".to_owned() };
            let mut res = HttpResponse::SeeOther().insert_header((header::LOCATION, target)).finish();
            let _ = res.add_cookie(&visit.session_cookie(secrecy::ExposeSecret::expose_secret(&session.key)));
            Ok(visit.finish(res))
        }
        Ok(_) => Ok(refused(StatusCode::FORBIDDEN, "This account may not enter the admin site (it is not staff).")),
        Err(AuthError::Refused(SignInRefused::Credentials)) => Ok(refused(
            StatusCode::OK,
            "Please enter the correct username and password of a staff account. Both fields may be case-sensitive.",
        )),
        Err(AuthError::Refused(SignInRefused::Throttled)) => Ok(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins for this username; wait a few minutes and try again.",
        )),
        Err(AuthError::Failed(e)) => Err(e.into()),
    }
}

/// `POST /admin/logout/`: ends the session on the server and in the browser.
pub async fn logout(req: HttpRequest, state: State, body: web::Bytes) -> Page {
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    submitted(ctx, &req, &visit, &body)?;
    if let Some(cookie) = req.cookie(crate::admin::auth::SESSION_COOKIE) {
        accounts::sign_out(ctx, cookie.value()).await?;
    }
    let mut res = visit.redirect_with("../login/", "You are signed out.");
    visit.clear_session(&mut res);
    Ok(res)
}

/// `GET /admin/`: every table with its row count, and the recent actions.
pub async fn index(req: HttpRequest, state: State) -> Page {
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let user = visit.staff(&req)?;
    let counts = ctx.db(|c| Ok::<_, Error>(counts::all(c)?)).await?;
    let tables = tables::all()
        .into_iter()
        .filter(|t| user.is_superuser || !t.superusers_only())
        .map(|t| TableLink {
            slug: t.slug(),
            title: t.title(),
            count: t.count(&counts),
            can_add: t.can_add() && visit.may_change(),
        })
        .collect();
    let actions = accounts::recent_actions(ctx, 15).await?.into_iter().map(|e| action_line(e, "")).collect();
    let page = IndexPage { page: chrome(&req, &visit, "Site administration", Vec::new()), tables, actions };
    Ok(visit.finish(html(StatusCode::OK, &page)))
}

/// `GET /admin/{table}/`: search, filters, ordering and pages.
pub async fn list(req: HttpRequest, state: State, path: web::Path<String>) -> Page {
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let (table, _) = table_for(&visit, &req, &path)?;
    let rows = table.rows(ctx).await?;
    let total = rows.len();
    let query = ListQuery::parse(req.query_string(), table.filters());
    let filters = table
        .filters()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let chosen = query.facets.iter().find(|(k, _)| k == f.key).map(|(_, v)| v.clone());
            let mut choices = vec![FilterChoice {
                label: "All".to_owned(),
                href: query.link(|q| {
                    q.facets.retain(|(k, _)| k != f.key);
                    q.page = 1;
                }),
                selected: chosen.is_none(),
            }];
            choices.extend(facet_values(&rows, i).into_iter().map(|value| FilterChoice {
                href: query.link(|q| {
                    q.facets.retain(|(k, _)| k != f.key);
                    q.facets.push((f.key.to_owned(), value.clone()));
                    q.page = 1;
                }),
                selected: chosen.as_deref() == Some(value.as_str()),
                label: value,
            }));
            FilterBox { label: f.label, choices }
        })
        .collect();
    let selected = select(rows, &query, table.filters());
    let columns = table
        .columns()
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let n = i32::try_from(i + 1).unwrap_or(i32::MAX);
            let (order, arrow) = match query.order {
                o if o == n => (-n, " ▲"),
                o if o == -n => (n, " ▼"),
                _ => (n, ""),
            };
            ColumnLink { label, href: query.link(|q| q.order = order), arrow }
        })
        .collect();
    let pages = if selected.pages > 1 {
        (1..=selected.pages)
            .map(|p| PageLink {
                label: p.to_string(),
                href: if p == query.page.min(selected.pages) { String::new() } else { query.link(|q| q.page = p) },
            })
            .collect()
    } else {
        Vec::new()
    };
    let root = root_of(req.path());
    let page = ListPage {
        page: chrome(&req, &visit, table.title(), vec![home(&root), Crumb::new(table.title(), "")]),
        title: table.title(),
        singular: table.singular(),
        can_add: table.can_add() && visit.may_change(),
        can_delete: table.can_delete() && visit.may_change(),
        q: query.q.clone(),
        keep: query.kept(),
        shown: selected.matched,
        total,
        columns,
        rows: selected
            .rows
            .into_iter()
            .map(|r| ListRow { id: r.id, cells: r.cells.into_iter().map(|c| c.text).collect() })
            .collect(),
        pages,
        filters,
    };
    Ok(visit.finish(html(StatusCode::OK, &page)))
}

/// `POST /admin/{table}/`: "delete selected": a confirmation page, then (with `confirm=yes`) the
/// deletions, each through the table's use case.
pub async fn bulk(req: HttpRequest, state: State, path: web::Path<String>, body: web::Bytes) -> Page {
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let (table, user) = table_to_change(&visit, &req, &path)?;
    let form = submitted(ctx, &req, &visit, &body)?;
    if form.get("action") != "delete_selected" || !table.can_delete() {
        return Ok(visit.redirect_with("./", "Choose an action."));
    }
    let ids = form.ids("ids");
    if ids.is_empty() {
        return Ok(visit.redirect_with("./", "Items must be selected in order to perform actions on them."));
    }
    if form.get("confirm") == "yes" {
        let message = delete_all(ctx, table, &user, &ids).await;
        return Ok(visit.redirect_with("./", &message));
    }
    confirm_page(ctx, &req, &visit, table, ids, "./".to_owned()).await
}

async fn delete_all(ctx: &Ctx, table: &dyn AdminTable, user: &User, ids: &[i32]) -> String {
    let actor = user.actor();
    let mut deleted = 0;
    let mut refused = Vec::new();
    for id in ids {
        match table.delete(ctx, &actor, *id).await {
            Ok(()) => deleted += 1,
            Err(e) => refused.push(format!("{} {id}: {}", table.singular(), FormErrors::from(e).general.join(" "))),
        }
    }
    let mut message = format!("Deleted {deleted} {}.", if deleted == 1 { table.singular() } else { table.title() });
    if !refused.is_empty() {
        message.push_str(&format!(" Not deleted: {}", refused.join("; ")));
    }
    message
}

async fn confirm_page(
    ctx: &Ctx,
    req: &HttpRequest,
    visit: &Visit,
    table: &dyn AdminTable,
    ids: Vec<i32>,
    back: String,
) -> Page {
    let mut objects: Vec<Doomed> = Vec::new();
    for id in &ids {
        if let Some(doomed) = table.doomed(ctx, *id).await? {
            objects.push(doomed);
        }
    }
    if objects.is_empty() {
        return Err(AdminError::NotFound);
    }
    let root = root_of(req.path());
    let page = DeletePage {
        page: chrome(
            req,
            visit,
            "Are you sure?",
            vec![home(&root), Crumb::new(table.title(), format!("{root}{}/", table.slug())), Crumb::new("Delete", "")],
        ),
        objects,
        blocked: Vec::new(),
        ids,
        back,
    };
    Ok(visit.finish(html(StatusCode::OK, &page)))
}

async fn form_page(
    req: &HttpRequest,
    visit: &Visit,
    table: &dyn AdminTable,
    id: Option<i32>,
    editor: tables::Editor,
    errors: Vec<String>,
    status: StatusCode,
) -> Page {
    let root = root_of(req.path());
    let may_change = visit.may_change();
    let editable = editor.editable && may_change;
    let heading = match id {
        None => format!("Add {}", table.singular()),
        Some(_) if editable => format!("Change {} {}", table.singular(), editor.repr),
        Some(_) => format!("{} {}", table.singular(), editor.repr),
    };
    let page = FormPage {
        page: chrome(req, visit, heading.clone(), object_crumbs(&root, table, &heading)),
        heading,
        object_id: id,
        errors,
        actions: if may_change { editor.actions } else { Vec::new() },
        fields: editor.fields,
        editable,
        can_delete: table.can_delete() && may_change,
    };
    Ok(visit.finish(html(status, &page)))
}

/// `GET /admin/{table}/add/`.
pub async fn add_form(req: HttpRequest, state: State, path: web::Path<String>) -> Page {
    let visit = Visit::of(&state.ctx, &req).await?;
    let (table, _) = table_to_change(&visit, &req, &path)?;
    if !table.can_add() {
        return Err(AdminError::NotFound);
    }
    let editor = table.editor(&state.ctx, None).await?.ok_or(AdminError::NotFound)?;
    form_page(&req, &visit, table, None, editor, Vec::new(), StatusCode::OK).await
}

/// `GET /admin/{table}/{id}/change/`.
pub async fn change_form(req: HttpRequest, state: State, path: web::Path<(String, i32)>) -> Page {
    let (slug, id) = path.into_inner();
    let visit = Visit::of(&state.ctx, &req).await?;
    let (table, _) = table_for(&visit, &req, &slug)?;
    let editor = table.editor(&state.ctx, Some(id)).await?.ok_or(AdminError::NotFound)?;
    form_page(&req, &visit, table, Some(id), editor, Vec::new(), StatusCode::OK).await
}

/// `POST /admin/{table}/add/` and `POST /admin/{table}/{id}/change/`: saves through the table's
/// use case; errors show next to their fields with what was typed.
async fn save(req: HttpRequest, state: State, slug: &str, id: Option<i32>, body: web::Bytes) -> Page {
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let (table, user) = table_to_change(&visit, &req, slug)?;
    let form = submitted(ctx, &req, &visit, &body)?;
    let mut editor = table.editor(ctx, id).await?.ok_or(AdminError::NotFound)?;
    if !editor.editable || (id.is_none() && !table.can_add()) {
        return Err(AdminError::NotFound);
    }
    let saved = match id {
        None => table.add(ctx, &user.actor(), &form).await,
        Some(id) => table.save(ctx, &user.actor(), Some(id), &form).await.map(|id| Added { id, secret: None }),
    };
    match saved {
        Ok(Added { id: saved, secret: Some(secret) }) => Ok(secret_page(&req, &visit, table, saved, secret)),
        Ok(Added { id: saved, secret: None }) => {
            let message = saved_message(table, saved, if id.is_some() { "changed" } else { "added" });
            let target = if id.is_some() { "../../".to_owned() } else { "../".to_owned() };
            Ok(visit.redirect_with(&target, &message))
        }
        Err(errors) => {
            let general = errors.apply(&mut editor.fields, &form);
            form_page(&req, &visit, table, id, editor, general, StatusCode::BAD_REQUEST).await
        }
    }
}

/// The answer to an add form whose object has a secret: the page showing it, this once. It is
/// the POST's own answer (never stored, never in a cookie or a URL, not cached), so no later
/// page can show it again.
fn secret_page(req: &HttpRequest, visit: &Visit, table: &dyn AdminTable, id: i32, secret: Secret) -> HttpResponse {
    let root = root_of(req.path());
    let heading = format!("{} added", capitalized(table.singular()));
    let page = SecretPage {
        page: chrome(req, visit, heading.clone(), object_crumbs(&root, table, &heading)),
        heading,
        message: saved_message(table, id, "added"),
        label: secret.label,
        secret: secrecy::ExposeSecret::expose_secret(&secret.value).to_owned(),
        singular: table.singular(),
        id,
    };
    visit.finish(html(StatusCode::OK, &page))
}

/// What the page after a saved form says: `The model 3 was added successfully.`
fn saved_message(table: &dyn AdminTable, id: i32, verb: &str) -> String {
    format!("The {} {id} was {verb} successfully.", table.singular())
}

/// `text` with its first letter in upper case.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `POST /admin/{table}/add/`.
pub async fn add(req: HttpRequest, state: State, path: web::Path<String>, body: web::Bytes) -> Page {
    let slug = path.into_inner();
    save(req, state, &slug, None, body).await
}

/// `POST /admin/{table}/{id}/change/`.
pub async fn change(req: HttpRequest, state: State, path: web::Path<(String, i32)>, body: web::Bytes) -> Page {
    let (slug, id) = path.into_inner();
    save(req, state, &slug, Some(id), body).await
}

/// `GET /admin/{table}/{id}/delete/`: what goes with the object.
pub async fn delete_form(req: HttpRequest, state: State, path: web::Path<(String, i32)>) -> Page {
    let (slug, id) = path.into_inner();
    let visit = Visit::of(&state.ctx, &req).await?;
    let (table, _) = table_to_change(&visit, &req, &slug)?;
    if !table.can_delete() {
        return Err(AdminError::NotFound);
    }
    confirm_page(&state.ctx, &req, &visit, table, vec![id], "../change/".to_owned()).await
}

/// `POST /admin/{table}/{id}/delete/`: deletes through the table's use case; a refusal is shown
/// on the confirmation page.
pub async fn delete(req: HttpRequest, state: State, path: web::Path<(String, i32)>, body: web::Bytes) -> Page {
    let (slug, id) = path.into_inner();
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let (table, user) = table_to_change(&visit, &req, &slug)?;
    submitted(ctx, &req, &visit, &body)?;
    if !table.can_delete() {
        return Err(AdminError::NotFound);
    }
    let doomed = table.doomed(ctx, id).await?.ok_or(AdminError::NotFound)?;
    match table.delete(ctx, &user.actor(), id).await {
        Ok(()) => Ok(visit.redirect_with("../../", &format!("The {} was deleted successfully.", doomed.repr))),
        Err(e) => {
            let root = root_of(req.path());
            let page = DeletePage {
                page: chrome(
                    &req,
                    &visit,
                    "Can not delete",
                    vec![home(&root), Crumb::new(table.title(), format!("{root}{}/", table.slug()))],
                ),
                objects: vec![doomed],
                blocked: FormErrors::from(e).general,
                ids: vec![id],
                back: "../change/".to_owned(),
            };
            Ok(visit.finish(html(StatusCode::CONFLICT, &page)))
        }
    }
}

/// `GET /admin/{table}/{id}/history/`: the object's audit entries.
pub async fn history(req: HttpRequest, state: State, path: web::Path<(String, i32)>) -> Page {
    let (slug, id) = path.into_inner();
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let (table, _) = table_for(&visit, &req, &slug)?;
    let entries = accounts::history(ctx, table.slug(), id).await?;
    let repr = match table.editor(ctx, Some(id)).await? {
        Some(editor) => editor.repr,
        None => entries.last().map(|e| e.object_repr.clone()).ok_or(AdminError::NotFound)?,
    };
    let root = root_of(req.path());
    let page = HistoryPage {
        page: chrome(
            &req,
            &visit,
            format!("History: {repr}"),
            vec![home(&root), Crumb::new(table.title(), format!("{root}{}/", table.slug())), Crumb::new("History", "")],
        ),
        repr,
        actions: entries.into_iter().map(|e| action_line(e, &root)).collect(),
    };
    Ok(visit.finish(html(StatusCode::OK, &page)))
}

/// `POST /admin/{table}/{id}/do/{action}/`: an action of the object (stop, re-send…), through
/// the same use case as the REST API.
pub async fn act(req: HttpRequest, state: State, path: web::Path<(String, i32, String)>, body: web::Bytes) -> Page {
    let (slug, id, action) = path.into_inner();
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let (table, user) = table_to_change(&visit, &req, &slug)?;
    submitted(ctx, &req, &visit, &body)?;
    let message = match table.act(ctx, &user.actor(), id, &action).await {
        Ok(Some(message)) => message,
        Ok(None) => return Err(AdminError::NotFound),
        Err(e) => FormErrors::from(e).general.join(" "),
    };
    Ok(visit.redirect_with("../../change/", &message))
}

/// `GET /admin/password/`: change one's own password.
pub async fn password_form(req: HttpRequest, state: State) -> Page {
    let visit = Visit::of(&state.ctx, &req).await?;
    visit.staff(&req)?;
    let root = root_of(req.path());
    let page = PasswordPage {
        page: chrome(&req, &visit, "Password change", vec![home(&root), Crumb::new("Password change", "")]),
        heading: "Password change".to_owned(),
        error: None,
        ask_current: true,
    };
    Ok(visit.finish(html(StatusCode::OK, &page)))
}

/// `POST /admin/password/`: checks the current password, sets the new one (ending every session,
/// this one included: sign in again).
pub async fn password(req: HttpRequest, state: State, body: web::Bytes) -> Page {
    let ctx = &state.ctx;
    let visit = Visit::of(ctx, &req).await?;
    let user = visit.staff(&req)?.clone();
    let form = submitted(ctx, &req, &visit, &body)?;
    let current = accounts::authenticate(ctx, &user.username, SecretString::from(form.get("old_password").to_owned()));
    let error = match current.await {
        Err(AuthError::Failed(e)) => return Err(e.into()),
        Err(AuthError::Refused(_)) => Some("Your old password was entered incorrectly.".to_owned()),
        Ok(_) if form.get("password1") != form.get("password2") => {
            Some(kafkaml_domain::Violation::PasswordMismatch.to_string())
        }
        Ok(_) => {
            let new = SecretString::from(form.get("password1").to_owned());
            match accounts::set_password(ctx, &user.actor(), user.id, new).await {
                Ok(()) => {
                    let mut res = visit.redirect_with("../login/", "Your password was changed; sign in again.");
                    visit.clear_session(&mut res);
                    return Ok(res);
                }
                Err(e) => Some(FormErrors::from(e).general.join(" ")),
            }
        }
    };
    let root = root_of(req.path());
    let page = PasswordPage {
        page: chrome(&req, &visit, "Password change", vec![home(&root), Crumb::new("Password change", "")]),
        heading: "Password change".to_owned(),
        error,
        ask_current: true,
    };
    Ok(visit.finish(html(StatusCode::BAD_REQUEST, &page)))
}

/// `GET /admin/static/admin.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("admin.css"))
}

/// Any other path under `/admin`: without its trailing slash it is sent to the slashed form (as
/// Django's `APPEND_SLASH`), relatively; otherwise it does not exist.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    if !path.ends_with('/') {
        let last = path.rsplit('/').next().unwrap_or_default();
        let query = if req.query_string().is_empty() { String::new() } else { format!("?{}", req.query_string()) };
        return HttpResponse::MovedPermanently().insert_header((header::LOCATION, format!("{last}/{query}"))).finish();
    }
    actix_web::ResponseError::error_response(&AdminError::NotFound)
}
