//! The commands: each loads the file, builds what it needs and reports.

use std::io::{BufRead, Write};
use std::path::Path;

use super::declare::{plan, Plan};
use super::error::CliError;
use super::file;
use super::init;
use super::login::{hash_password, TableLogin};
use super::reflect::resolve;
use super::reload;
use crate::app::{Built, LightApi};
use crate::auth::{Access, Credentials};
use crate::backend::open::connect;
use crate::backend::sql::introspect;
use crate::backend::{read_with, PoolOptions};
use crate::config::{DatabaseUrl, LogLevel};
use crate::crud::schema::ensure_table_adding;
use crate::crud::CrudError;
use crate::error::StartError;
use crate::http::Method;
use crate::log::Logger;
use crate::model::Model;
use crate::server::signal::Hangups;

/// Reads and checks the file at `path`, with the process environment for
/// `${VAR}` and the `LIGHTAPI_*` overrides.
pub(crate) fn load(path: &Path) -> Result<Plan, CliError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::File(format!("{shown}: cannot read: {e}")))?;
    let doc = file::parse(&text).map_err(|e| CliError::File(e.render(&shown, &text)))?;
    plan(doc, &|name| std::env::var(name).ok()).map_err(|e| CliError::File(e.render(&shown, &text)))
}

/// [`load`], then the reflected models read from their tables: each note
/// (a model skipped or served read-only) logged as a warning, and any
/// model that cannot be served an error naming them all.
pub(crate) fn load_resolved(path: &Path) -> Result<Plan, CliError> {
    let resolved = resolve(load(path)?)?;
    let config = &resolved.plan.config;
    let log = Logger::new(config.log).with_format(config.log_format);
    for note in &resolved.notes {
        log.warn(note);
    }
    if !resolved.errors.is_empty() {
        return Err(CliError::File(format!(
            "{}: {}",
            path.display(),
            resolved.errors.join("; ")
        )));
    }
    Ok(resolved.plan)
}

/// A start-up failure: the declarations' and configuration's are the
/// file's (exit status 2), the rest the run's.
fn start_error(e: StartError) -> CliError {
    match e {
        StartError::Declaration { .. } | StartError::Config(_) => CliError::File(e.to_string()),
        other => CliError::Runtime(other.to_string()),
    }
}

/// The application `plan` declares.
pub(crate) fn app(plan: Plan) -> Result<LightApi, CliError> {
    let mut app = LightApi::with_config(plan.config.clone());
    let info = &plan.openapi;
    match (&info.title, &info.version) {
        (Some(t), Some(v)) => app = app.openapi_info(t, v),
        (None, None) => {}
        _ => {
            return Err(CliError::File(
                "openapi: title and version go together".to_owned(),
            ))
        }
    }
    if let Some((name, id)) = &info.license {
        app = app.openapi_license(name, id);
    }
    if let Some(text) = &info.description {
        app = app.openapi_description(text);
    }
    for url in &info.servers {
        app = app.openapi_server(url);
    }
    if let Some(login) = &plan.login {
        let model: Option<&Model> = plan
            .resources
            .iter()
            .map(|d| d.resource.model())
            .find(|m| m.name() == login.table.get_ref());
        let validator = TableLogin::new(login, &plan.config, model).map_err(CliError::Runtime)?;
        app = app.login(move |c: &Credentials| validator.check(c));
    }
    let mut nested = Vec::new();
    for d in plan.resources {
        let child = d.resource.model().name().to_owned();
        nested.extend(
            d.nested
                .into_iter()
                .map(|(path, fk)| (path, child.clone(), fk)),
        );
        app = app.register(&d.path, d.resource);
    }
    for (path, child, fk) in nested {
        app = app.register_nested(&path, &child, &fk);
    }
    Ok(app)
}

/// `serve`: runs until SIGINT/SIGTERM; reloads the file on SIGHUP.
pub(crate) fn serve(path: &Path) -> Result<(), CliError> {
    // Before anything else: from here on a SIGHUP reloads, never ends
    // the process.
    let hangups =
        Hangups::install().map_err(|e| CliError::Runtime(format!("cannot handle SIGHUP: {e}")))?;
    let server = app(load_resolved(path)?)?
        .launch(true)
        .map_err(start_error)?;
    if let Err(e) = reload::watch(path, hangups, server.swapper()) {
        server.shutdown();
        server.join();
        return Err(e);
    }
    match server.join_checked() {
        Some((thread, cause)) => Err(start_error(StartError::Crashed { thread, cause })),
        None => Ok(()),
    }
}

/// The application built on an in-memory SQLite database with logging
/// off: every declaration checked, the routes and the document made, the
/// file's own database untouched.
fn offline(mut plan: Plan) -> Result<Built, CliError> {
    plan.config.database.url =
        DatabaseUrl::new("sqlite::memory:").map_err(|e| CliError::Runtime(e.to_string()))?;
    plan.config.log = LogLevel::Off;
    for d in &mut plan.resources {
        // The tables read from the database are made in memory here.
        d.resource.model = d.resource.model.clone().existing_table(false);
    }
    app(plan)?.build().map_err(start_error)
}

fn stop(built: Built) {
    for f in built.on_stop {
        f();
    }
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Runtime(format!("cannot write the output: {e}")))
}

/// `routes`: one line per route and method, with its access.
pub(crate) fn routes(path: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let built = offline(load_resolved(path)?)?;
    let mut text = String::new();
    for (pattern, entry) in built.app.router.routes() {
        for m in entry.allowed.iter().filter(|m| *m != Method::Options) {
            let access = match entry.service.access(m) {
                Access::Public => "public",
                Access::Authenticated => "authenticated",
                Access::Admin => "admin",
                Access::Check(_) => "check",
            };
            text.push_str(&format!("{:<8}{pattern:<32} {access}\n", m.as_str()));
        }
    }
    stop(built);
    write_out(out, &text)
}

/// `openapi`: the document on `out`.
pub(crate) fn openapi(path: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let built = offline(load_resolved(path)?)?;
    let mut text = String::from_utf8_lossy(&built.openapi_json).into_owned();
    text.push('\n');
    stop(built);
    write_out(out, &text)
}

/// `check`: the file, its declarations, then each model against its
/// table. `Ok(false)` when a table differs.
pub(crate) fn check(path: &Path, out: &mut dyn Write) -> Result<bool, CliError> {
    let resolved = resolve(load(path)?)?;
    let mut reflected = String::new();
    for note in &resolved.notes {
        reflected.push_str(&format!("{note}\n"));
    }
    if !resolved.errors.is_empty() {
        reflected.push_str(&format!(
            "{}: {} model(s) read from their tables cannot be served\n",
            path.display(),
            resolved.errors.len()
        ));
        for e in &resolved.errors {
            reflected.push_str(&format!("  {e}\n"));
        }
        write_out(out, &reflected)?;
        return Ok(false);
    }
    let plan = resolved.plan;
    let config = plan.config.clone();
    let models: Vec<Model> = plan
        .resources
        .iter()
        .map(|d| d.resource.model().clone())
        .collect();
    stop(offline(plan)?);
    let mut text = format!(
        "{}: the file and its declarations are valid\n{reflected}",
        path.display()
    );
    if models.is_empty() {
        write_out(out, &text)?;
        return Ok(true);
    }
    let options = PoolOptions {
        max_read_connections: 1,
        connect_timeout: config.database.connect_timeout,
        query_timeout: config.timeouts.query,
        socket_timeout: config
            .database
            .effective_socket_timeout(config.timeouts.query),
        ..PoolOptions::default()
    };
    let db = connect(config.database.url.as_str(), &options)
        .map_err(|e| CliError::Runtime(format!("{}: {e}", config.database.url.scheme())))?;
    let mut matches = true;
    let mut failure = None;
    for model in &models {
        let (q, types) = introspect(db.dialect(), model.name());
        let found = read_with(&*db, |c| c.query(&q.text, &q.params, &types));
        match found {
            Ok(rows) if rows.is_empty() => {
                text.push_str(&format!(
                    "table `{}`: missing (`lightapi serve` creates it with)\n",
                    model.name()
                ));
                for statement in crate::backend::sql::create_table(db.dialect(), model, None) {
                    text.push_str("  ");
                    text.push_str(&statement);
                    text.push('\n');
                }
            }
            Ok(_) => match ensure_table_adding(&*db, model, false) {
                Ok(_) => text.push_str(&format!("table `{}`: matches\n", model.name())),
                Err(CrudError::Schema { message }) => {
                    matches = false;
                    text.push_str(&format!("table `{}`: differs\n", model.name()));
                    for part in message.split("; ") {
                        text.push_str("  ");
                        text.push_str(part);
                        text.push('\n');
                    }
                }
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            },
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    db.close();
    write_out(out, &text)?;
    match failure {
        Some(cause) => Err(CliError::Runtime(cause)),
        None => Ok(matches),
    }
}

/// `hash-password`: one line of `input`, hashed.
pub(crate) fn hash(input: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), CliError> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| CliError::Runtime(format!("cannot read standard input: {e}")))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(CliError::Usage(
            "no password on standard input (an empty one is refused)".to_owned(),
        ));
    }
    let phc = hash_password(password).map_err(CliError::Runtime)?;
    write_out(out, &format!("{phc}\n"))
}

/// `init`: a starter file from the tables of the database at `url`,
/// written to `path` (never over an existing file) or, for `-`, to `out`.
pub(crate) fn init(url: &str, path: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let to_stdout = path.as_os_str() == "-";
    if !to_stdout && path.exists() {
        return Err(CliError::Usage(format!(
            "{} exists: init never overwrites a file",
            path.display()
        )));
    }
    let parsed = DatabaseUrl::new(url).map_err(|e| CliError::Usage(e.to_string()))?;
    let db = connect(parsed.as_str(), &PoolOptions::default())
        .map_err(|e| CliError::Runtime(format!("{}: {e}", parsed.scheme())))?;
    let dialect = db.dialect();
    let found = init::tables(&*db);
    db.close();
    let tables = found.map_err(CliError::Runtime)?;
    let (text, skipped) = init::starter(dialect, url, &tables);
    for line in &skipped {
        eprintln!("lightapi: {line}");
    }
    if to_stdout {
        return write_out(out, &text);
    }
    std::fs::write(path, text)
        .map_err(|e| CliError::Runtime(format!("{}: cannot write: {e}", path.display())))?;
    let models = tables.len() - skipped.len();
    write_out(
        out,
        &format!("{}: {models} model(s) written\n", path.display()),
    )
}
