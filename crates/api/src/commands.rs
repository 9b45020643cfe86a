//! The operator's commands of `kafkaml-backend` besides serving, as Django's `manage.py` has them:
//! `createsuperuser`, `changepassword`, `createtoken` and `migrate`.
//!
//! Each is a clap argument struct with a `run` method taking the [`Settings`] (the same variables
//! as the server: `DATABASE_URL`, `KAFKAML_DATA_DIR`, …). `createsuperuser`, `changepassword` and
//! `createtoken` open the database (migrating it first) and go through the use cases with
//! [`Actor::System`], so the password policy and the audit trail are the admin site's. They ask
//! their questions through a [`Console`]: the process's [`Terminal`] (passwords hidden with
//! `rpassword` when standard input is a terminal, read as lines when it is piped), or a script in
//! tests.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use kafkaml_domain::password::{check_password, check_username};
use kafkaml_domain::Violation;
use kafkaml_persistence::db::{pending_migrations, run_migrations};
use secrecy::{ExposeSecret, SecretString};
use validator::ValidateEmail;

use crate::services::Services;
use crate::settings::Settings;
use crate::usecase::accounts::{self, NewAccount, User};
use crate::usecase::tokens::{self, Created};
use crate::usecase::{Actor, Ctx};

/// The superuser's username for `createsuperuser --noinput` (Django's `DJANGO_SUPERUSER_USERNAME`).
pub const USERNAME_VAR: &str = "KAFKAML_SUPERUSER_USERNAME";
/// The superuser's e-mail address for `createsuperuser --noinput` (may be empty).
pub const EMAIL_VAR: &str = "KAFKAML_SUPERUSER_EMAIL";
/// The superuser's password for `createsuperuser --noinput` (never a flag: command lines are
/// visible to every user of the machine).
pub const PASSWORD_VAR: &str = "KAFKAML_SUPERUSER_PASSWORD";

/// How many times `changepassword` asks before giving up (Django's `MAX_TRIES`).
pub const MAX_TRIES: usize = 3;

/// Where a command asks its questions and tells its results.
pub trait Console {
    /// Asks for a line of text (without its line end); `None` when the input has ended.
    fn ask(&mut self, prompt: &str) -> std::io::Result<Option<String>>;
    /// Asks for a secret, not echoed when the input is a terminal; `None` when the input has ended.
    fn ask_secret(&mut self, prompt: &str) -> std::io::Result<Option<SecretString>>;
    /// Tells a result (standard output).
    fn say(&mut self, message: &str);
    /// Tells why an answer was refused (standard error), before asking again.
    fn refuse(&mut self, message: &str);
    /// Tells something besides the result (standard error), so that standard output holds the
    /// result alone (`KEY=$(kafkaml-backend createtoken ann)`).
    fn note(&mut self, message: &str);
}

/// The process's standard streams. Passwords are read with `rpassword` (from the terminal, not
/// echoed) when standard input is a terminal, and as lines of standard input when it is not
/// (piped input, scripts, tests), so the command never waits on a terminal it was not given.
#[derive(Debug)]
pub struct Terminal {
    hidden: bool,
}

impl Terminal {
    /// The process's terminal, hiding passwords when standard input is one.
    pub fn new() -> Self {
        Terminal { hidden: std::io::stdin().is_terminal() }
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new()
    }
}

/// One line of standard input without its line end; `None` at the end of the input.
fn read_line() -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(Some(line))
}

impl Console for Terminal {
    fn ask(&mut self, prompt: &str) -> std::io::Result<Option<String>> {
        let mut out = std::io::stdout().lock();
        out.write_all(prompt.as_bytes())?;
        out.flush()?;
        drop(out);
        read_line()
    }

    fn ask_secret(&mut self, prompt: &str) -> std::io::Result<Option<SecretString>> {
        if self.hidden {
            return rpassword::prompt_password(prompt).map(|p| Some(SecretString::from(p)));
        }
        Ok(self.ask(prompt)?.map(SecretString::from))
    }

    fn say(&mut self, message: &str) {
        println!("{message}");
    }

    fn refuse(&mut self, message: &str) {
        eprintln!("Error: {message}");
    }

    fn note(&mut self, message: &str) {
        eprintln!("{message}");
    }
}

/// The error of an input that ended before the command had its answers.
fn input_ended(command: &str) -> anyhow::Error {
    anyhow!("{command}: the input ended before every question was answered")
}

/// The use cases' context of a command: the settings' database (migrated), no connection to a
/// cluster or a broker, and a small pool (a command runs one operation at a time).
async fn command_context(settings: &Settings) -> anyhow::Result<Ctx> {
    let mut settings = settings.clone();
    settings.database.pool_size = settings.database.pool_size.clamp(1, 2);
    let services = Services::offline(&settings)?;
    crate::app::open_context(&settings, services).await
}

/// Asks for a new password twice and checks it against the policy for the user it is to belong
/// to. `Ok(Err(message))` is a refused answer (say it and ask again).
fn ask_new_password(
    console: &mut dyn Console,
    command: &str,
    username: &str,
    email: &str,
) -> anyhow::Result<Result<SecretString, String>> {
    let first = console.ask_secret("Password: ")?.ok_or_else(|| input_ended(command))?;
    let second = console.ask_secret("Password (again): ")?.ok_or_else(|| input_ended(command))?;
    if first.expose_secret() != second.expose_secret() {
        return Ok(Err(Violation::PasswordMismatch.to_string()));
    }
    if first.expose_secret().is_empty() {
        return Ok(Err("Blank passwords aren't allowed.".to_owned()));
    }
    Ok(check_password(first.expose_secret(), username, email).map(|()| first).map_err(|v| v.to_string()))
}

/// Whether `email` is acceptable: empty, or an e-mail address.
fn valid_email(email: &str) -> bool {
    email.is_empty() || email.validate_email()
}

/// `kafkaml-backend createsuperuser`: creates an active staff superuser.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CreateSuperuser {
    /// The superuser's username (asked when not given; with --noinput, KAFKAML_SUPERUSER_USERNAME
    /// when not given).
    #[arg(long)]
    pub username: Option<String>,

    /// The superuser's e-mail address (asked when not given; with --noinput,
    /// KAFKAML_SUPERUSER_EMAIL when not given).
    #[arg(long)]
    pub email: Option<String>,

    /// Ask nothing: the username, e-mail and password come from KAFKAML_SUPERUSER_USERNAME,
    /// KAFKAML_SUPERUSER_EMAIL and KAFKAML_SUPERUSER_PASSWORD (for containers and Jobs).
    #[arg(long)]
    pub noinput: bool,
}

impl CreateSuperuser {
    /// Runs the command on the settings' database, asking on the process's [`Terminal`] and
    /// reading the process's environment.
    pub async fn run(&self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let ctx = command_context(settings).await?;
        let env = |name: &str| std::env::var(name).ok();
        self.create(&ctx, &mut Terminal::new(), &env).await?;
        Ok(ExitCode::SUCCESS)
    }

    /// Creates the superuser: from `env` with `--noinput`, else from the answers of `console`.
    pub async fn create(
        &self,
        ctx: &Ctx,
        console: &mut dyn Console,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<User> {
        let account =
            if self.noinput { self.account_from_environment(env)? } else { self.ask(ctx, console, env).await? };
        let user =
            accounts::create_user(ctx, &Actor::System("createsuperuser"), account).await.map_err(|e| match e {
                crate::usecase::Error::Rule(Violation::NameTaken { .. }) => {
                    anyhow!("That username is already taken.")
                }
                other => anyhow::Error::from(other),
            })?;
        console.say("Superuser created successfully.");
        Ok(user)
    }

    /// The account of `--noinput`: flags first, then the variables; the policy is applied by
    /// `create_user`.
    fn account_from_environment(&self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<NewAccount> {
        let missing = |var: &str, what: &str| {
            anyhow!("{var} is not set: createsuperuser --noinput reads the superuser's {what} from it")
        };
        let username = self
            .username
            .clone()
            .or_else(|| env(USERNAME_VAR))
            .ok_or_else(|| missing(USERNAME_VAR, "username (or give --username)"))?;
        let email = self
            .email
            .clone()
            .or_else(|| env(EMAIL_VAR))
            .ok_or_else(|| missing(EMAIL_VAR, "e-mail address (or give --email; it may be empty)"))?;
        let password = env(PASSWORD_VAR).ok_or_else(|| missing(PASSWORD_VAR, "password"))?;
        let email = email.trim().to_owned();
        if !valid_email(&email) {
            bail!("Enter a valid email address.");
        }
        if password.is_empty() {
            bail!("Blank passwords aren't allowed.");
        }
        Ok(superuser(username.trim().to_owned(), email, SecretString::from(password)))
    }

    /// The account of the interactive mode: asks for what the flags did not give, and asks again
    /// after a refused answer, as Django does.
    async fn ask(
        &self,
        ctx: &Ctx,
        console: &mut dyn Console,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<NewAccount> {
        const COMMAND: &str = "createsuperuser";
        let default = default_username(ctx, env).await?;
        let mut given = self.username.clone();
        let username = loop {
            let answer = match given.take() {
                Some(username) => username.trim().to_owned(),
                None => {
                    let prompt = match &default {
                        Some(d) => format!("Username (leave blank to use '{d}'): "),
                        None => "Username: ".to_owned(),
                    };
                    let answer = console.ask(&prompt)?.ok_or_else(|| input_ended(COMMAND))?;
                    match (answer.trim(), &default) {
                        ("", Some(d)) => d.clone(),
                        ("", None) => {
                            console.refuse("This field cannot be blank.");
                            continue;
                        }
                        (answer, _) => answer.to_owned(),
                    }
                }
            };
            if let Err(v) = check_username(&answer) {
                console.refuse(&v.to_string());
            } else if accounts::find_user(ctx, &answer).await?.is_some() {
                console.refuse("That username is already taken.");
            } else {
                break answer;
            }
        };
        let mut given = self.email.clone();
        let email = loop {
            let answer = match given.take() {
                Some(email) => email,
                None => console.ask("Email address: ")?.ok_or_else(|| input_ended(COMMAND))?,
            };
            let answer = answer.trim().to_owned();
            if valid_email(&answer) {
                break answer;
            }
            console.refuse("Enter a valid email address.");
        };
        let password = loop {
            match ask_new_password(console, COMMAND, &username, &email)? {
                Ok(password) => break password,
                Err(message) => console.refuse(&message),
            }
        };
        Ok(superuser(username, email, password))
    }
}

/// An active staff superuser.
fn superuser(username: String, email: String, password: SecretString) -> NewAccount {
    NewAccount { username, email, password, is_staff: true, is_superuser: true, role: kafkaml_domain::Role::Operator }
}

/// The username offered by default, as Django offers it: the operating-system user's name
/// (`USER`, else `LOGNAME`), lower-cased, when it is a valid username nobody has taken.
async fn default_username(ctx: &Ctx, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<String>> {
    let Some(name) = env("USER").or_else(|| env("LOGNAME")) else {
        return Ok(None);
    };
    let name: String = name.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    if check_username(&name).is_err() || accounts::find_user(ctx, &name).await?.is_some() {
        return Ok(None);
    }
    Ok(Some(name))
}

/// `kafkaml-backend changepassword USERNAME`: sets a user's password (and ends their sessions).
#[derive(Debug, Clone, clap::Args)]
pub struct ChangePassword {
    /// The user whose password changes.
    pub username: String,
}

impl ChangePassword {
    /// Runs the command on the settings' database, asking on the process's [`Terminal`].
    pub async fn run(&self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let ctx = command_context(settings).await?;
        self.change(&ctx, &mut Terminal::new()).await?;
        Ok(ExitCode::SUCCESS)
    }

    /// Asks for the new password (twice, up to [`MAX_TRIES`] times) on `console` and sets it.
    pub async fn change(&self, ctx: &Ctx, console: &mut dyn Console) -> anyhow::Result<()> {
        const COMMAND: &str = "changepassword";
        let user = accounts::find_user(ctx, &self.username)
            .await?
            .ok_or_else(|| anyhow!("user '{}' does not exist", self.username))?;
        console.say(&format!("Changing password for user '{}'", user.username));
        for _ in 0..MAX_TRIES {
            match ask_new_password(console, COMMAND, &user.username, &user.email)? {
                Ok(password) => {
                    accounts::set_password(ctx, &Actor::System("changepassword"), user.id, password)
                        .await
                        .context("setting the password")?;
                    console.say(&format!("Password changed successfully for user '{}'", user.username));
                    return Ok(());
                }
                Err(message) => console.refuse(&message),
            }
        }
        bail!("Aborting password change for user '{}' after {MAX_TRIES} attempts", user.username)
    }
}

/// `kafkaml-backend createtoken USERNAME`: creates an API token for an active user and prints its
/// key, alone, on standard output (the only time it is shown).
#[derive(Debug, Clone, clap::Args)]
pub struct CreateToken {
    /// The user the token acts for, with that user's role.
    pub username: String,

    /// What the token is for (shown in the admin site's list of tokens).
    #[arg(long, default_value = "cli")]
    pub name: String,

    /// When the token stops working: a duration from now (30d, 12h, 90m), a date (YYYY-MM-DD,
    /// midnight UTC at its start) or an RFC 3339 date-time. Never, when not given.
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
}

impl CreateToken {
    /// Runs the command on the settings' database: the key on standard output, the rest on
    /// standard error.
    pub async fn run(&self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let ctx = command_context(settings).await?;
        self.create(&ctx, &mut Terminal::new()).await?;
        Ok(ExitCode::SUCCESS)
    }

    /// Creates the token as `Actor::System("createtoken")`, says its key and notes what it is.
    pub async fn create(&self, ctx: &Ctx, console: &mut dyn Console) -> anyhow::Result<Created> {
        let expires =
            tokens::parse_expiry(self.expires.as_deref().unwrap_or_default(), kafkaml_domain::datetime::now())?;
        let user = accounts::find_user(ctx, &self.username)
            .await?
            .ok_or_else(|| anyhow!("user '{}' does not exist", self.username))?;
        let created = tokens::create_token(ctx, &Actor::System("createtoken"), user.id, &self.name, expires).await?;
        console.say(created.key.expose_secret());
        let expiry = created.token.expires.as_ref().map_or_else(|| "never".to_owned(), crate::admin::tables::when);
        console.note(&format!(
            "Token '{}' of user '{}' (role {}), expires {expiry}. Its key is shown this once: store it now.",
            created.token.name,
            user.username,
            user.role_name(),
        ));
        Ok(created)
    }
}

/// `kafkaml-backend migrate`: applies the pending database migrations and exits.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Migrate {
    /// Apply nothing: list the pending migrations and exit 1 when there are some, 0 otherwise.
    #[arg(long)]
    pub check: bool,
}

impl Migrate {
    /// Runs the command on the settings' database, writing its report to standard output.
    pub fn run(&self, settings: &Settings) -> anyhow::Result<ExitCode> {
        self.report(settings, &mut std::io::stdout().lock())
    }

    /// Applies (or, with `--check`, lists) the pending migrations, writing what it did to `out`.
    /// Exit code 1 when `--check` finds migrations pending.
    pub fn report(&self, settings: &Settings, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
        let mut settings = settings.clone();
        settings.database.pool_size = 1;
        let pool = crate::app::connect_database(&settings)?;
        let mut conn = pool.get().context("connecting to the database")?;
        if self.check {
            let pending = pending_migrations(&mut conn).context("listing the pending migrations")?;
            if pending.is_empty() {
                writeln!(out, "No migrations to apply.")?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(out, "Pending migrations:")?;
            for name in &pending {
                writeln!(out, "  {name}")?;
            }
            return Ok(ExitCode::FAILURE);
        }
        let applied = run_migrations(&mut conn).context("running the database migrations")?;
        if applied.is_empty() {
            writeln!(out, "No migrations to apply.")?;
        }
        for name in &applied {
            writeln!(out, "Applied {name}")?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, VecDeque};

    use super::*;

    /// A console answering from a script and recording what it was told.
    #[derive(Default)]
    struct Script {
        answers: VecDeque<&'static str>,
        prompts: Vec<String>,
        said: Vec<String>,
        refused: Vec<String>,
        noted: Vec<String>,
    }

    impl Script {
        fn new(answers: &[&'static str]) -> Self {
            Script { answers: answers.iter().copied().collect(), ..Script::default() }
        }
    }

    impl Console for Script {
        fn ask(&mut self, prompt: &str) -> std::io::Result<Option<String>> {
            self.prompts.push(prompt.to_owned());
            Ok(self.answers.pop_front().map(str::to_owned))
        }

        fn ask_secret(&mut self, prompt: &str) -> std::io::Result<Option<SecretString>> {
            Ok(self.ask(prompt)?.map(SecretString::from))
        }

        fn say(&mut self, message: &str) {
            self.said.push(message.to_owned());
        }

        fn refuse(&mut self, message: &str) {
            self.refused.push(message.to_owned());
        }

        fn note(&mut self, message: &str) {
            self.noted.push(message.to_owned());
        }
    }

    async fn context(dir: &std::path::Path) -> Ctx {
        let mut settings = Settings::defaults();
        settings.server.data_dir = dir.join("data");
        command_context(&settings).await.unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| vars.get(name).cloned()
    }

    #[tokio::test]
    async fn interactive_asks_again_after_each_refused_answer() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path()).await;
        let mut console = Script::new(&[
            "",                      // username: blank, no default
            "ann lee",               // invalid username
            "ann",                   // ok
            "not-an-address",        // invalid e-mail
            "ann@example.org",       // ok
            "correct horse battery", // password
            "correct horse batterY", // mismatch
            "short",                 // too short
            "short",                 //
            "correct horse battery", // ok
            "correct horse battery", //
        ]);
        let user = CreateSuperuser::default().create(&ctx, &mut console, &env(&[])).await.unwrap();
        assert_eq!((user.username.as_str(), user.email.as_str()), ("ann", "ann@example.org"));
        assert!(user.is_active && user.is_staff && user.is_superuser);
        assert_eq!(
            console.refused,
            [
                "This field cannot be blank.".to_owned(),
                Violation::UsernameInvalid.to_string(),
                "Enter a valid email address.".to_owned(),
                "The two password fields didn't match.".to_owned(),
                Violation::PasswordTooShort(8).to_string(),
            ]
        );
        assert_eq!(console.said, ["Superuser created successfully."]);
        assert!(console.answers.is_empty());

        // The same name again is taken; the system user's name is offered when free.
        let mut console = Script::new(&["ann", "", "", "another fine phrase", "another fine phrase"]);
        let user = CreateSuperuser::default().create(&ctx, &mut console, &env(&[("USER", "Bob")])).await.unwrap();
        assert_eq!(user.username, "bob");
        assert_eq!(console.prompts[0], "Username (leave blank to use 'bob'): ");
        assert_eq!(console.refused, ["That username is already taken."]);
    }

    #[tokio::test]
    async fn an_input_that_ends_is_an_error_not_a_loop() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path()).await;
        let mut console = Script::new(&["ann", "", "password", "password"]);
        let error = CreateSuperuser::default().create(&ctx, &mut console, &env(&[])).await.unwrap_err();
        assert!(error.to_string().contains("the input ended"), "{error}");
        assert_eq!(console.refused, [Violation::PasswordTooCommon.to_string()]);
        assert!(accounts::find_user(&ctx, "ann").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn noinput_names_the_missing_variable_and_applies_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path()).await;
        let noinput = CreateSuperuser { noinput: true, ..CreateSuperuser::default() };
        let mut console = Script::new(&[]);
        let all = [(USERNAME_VAR, "root"), (EMAIL_VAR, "root@example.org"), (PASSWORD_VAR, "a long enough secret")];
        for missing in [USERNAME_VAR, EMAIL_VAR, PASSWORD_VAR] {
            let vars: Vec<_> = all.iter().copied().filter(|(k, _)| *k != missing).collect();
            let error = noinput.create(&ctx, &mut console, &env(&vars)).await.unwrap_err().to_string();
            assert!(error.starts_with(&format!("{missing} is not set")), "{error}");
        }
        let weak = [(USERNAME_VAR, "root"), (EMAIL_VAR, ""), (PASSWORD_VAR, "12345678")];
        let error = noinput.create(&ctx, &mut console, &env(&weak)).await.unwrap_err().to_string();
        assert_eq!(error, Violation::PasswordTooCommon.to_string());
        assert!(console.prompts.is_empty(), "--noinput asks nothing");

        // The flag wins over the variable.
        let flagged = CreateSuperuser { username: Some("admin".to_owned()), ..noinput.clone() };
        let user = flagged.create(&ctx, &mut console, &env(&all)).await.unwrap();
        assert_eq!(user.username, "admin");
        let error = flagged.create(&ctx, &mut console, &env(&all)).await.unwrap_err().to_string();
        assert_eq!(error, "That username is already taken.");
    }

    #[tokio::test]
    async fn changepassword_gives_up_after_three_refusals_and_refuses_unknown_users() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path()).await;
        let noinput = CreateSuperuser { noinput: true, ..CreateSuperuser::default() };
        let vars = [(USERNAME_VAR, "root"), (EMAIL_VAR, ""), (PASSWORD_VAR, "a long enough secret")];
        noinput.create(&ctx, &mut Script::new(&[]), &env(&vars)).await.unwrap();

        let unknown = ChangePassword { username: "nobody".to_owned() };
        let error = unknown.change(&ctx, &mut Script::new(&[])).await.unwrap_err().to_string();
        assert_eq!(error, "user 'nobody' does not exist");

        let root = ChangePassword { username: "root".to_owned() };
        let mut console = Script::new(&["a", "b", "", "", "rootroot", "rootroot"]);
        let error = root.change(&ctx, &mut console).await.unwrap_err().to_string();
        assert_eq!(error, "Aborting password change for user 'root' after 3 attempts");
        assert_eq!(
            console.refused,
            [
                "The two password fields didn't match.".to_owned(),
                "Blank passwords aren't allowed.".to_owned(),
                Violation::PasswordTooCommon.to_string(),
            ]
        );

        let mut console = Script::new(&["a new fine phrase", "a new fine phrase"]);
        root.change(&ctx, &mut console).await.unwrap();
        assert_eq!(
            console.said,
            ["Changing password for user 'root'", "Password changed successfully for user 'root'"]
        );
        let signed_in = accounts::authenticate(&ctx, "root", SecretString::from("a new fine phrase")).await;
        assert!(signed_in.is_ok(), "{signed_in:?}");
    }

    #[tokio::test]
    async fn createtoken_says_the_key_alone_and_refuses_unknown_or_inactive_users_and_bad_expiries() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path()).await;
        let noinput = CreateSuperuser { noinput: true, ..CreateSuperuser::default() };
        let vars = [(USERNAME_VAR, "root"), (EMAIL_VAR, ""), (PASSWORD_VAR, "a long enough secret")];
        let root = noinput.create(&ctx, &mut Script::new(&[]), &env(&vars)).await.unwrap();

        let command = |username: &str, expires: Option<&str>| CreateToken {
            username: username.to_owned(),
            name: "ci".to_owned(),
            expires: expires.map(str::to_owned),
        };
        let mut console = Script::new(&[]);
        let created = command("root", Some("2099-01-31")).create(&ctx, &mut console).await.unwrap();
        let key = created.key.expose_secret().to_owned();
        assert_eq!(console.said, [key.as_str()], "the key alone on standard output");
        assert!(key.starts_with("kml_") && key.len() == 68, "{key}");
        assert_eq!(
            console.noted,
            ["Token 'ci' of user 'root' (role superuser), expires 2099-01-31 00:00:00 UTC. \
              Its key is shown this once: store it now."]
        );
        let (user, token) = tokens::token_user(&ctx, &key).await.unwrap().unwrap();
        assert_eq!((user.id, token.id, token.name.as_str()), (root.id, created.token.id, "ci"));
        let entry = &accounts::recent_actions(&ctx, 1).await.unwrap()[0];
        assert_eq!((entry.actor.as_str(), entry.action.as_str()), ("createtoken", "add"));

        let mut console = Script::new(&[]);
        let error = command("nobody", None).create(&ctx, &mut console).await.unwrap_err().to_string();
        assert_eq!(error, "user 'nobody' does not exist");
        let error = command("root", Some("soon")).create(&ctx, &mut console).await.unwrap_err().to_string();
        assert!(error.starts_with("Token not valid: expires: give a duration"), "{error}");
        let error = command("root", Some("2020-01-01")).create(&ctx, &mut console).await.unwrap_err().to_string();
        assert_eq!(error, "Token not valid: expires: it is in the past.");

        let ann = accounts::create_user(
            &ctx,
            &Actor::System("test"),
            NewAccount {
                username: "ann".to_owned(),
                email: String::new(),
                password: SecretString::from("tall green tree 7"),
                is_staff: false,
                is_superuser: false,
                role: kafkaml_domain::Role::Viewer,
            },
        )
        .await
        .unwrap();
        let changes = accounts::AccountChanges {
            email: String::new(),
            is_active: false,
            is_staff: false,
            is_superuser: false,
            role: kafkaml_domain::Role::Viewer,
        };
        accounts::update_user(&ctx, &Actor::System("test"), ann.id, changes).await.unwrap();
        let error = command("ann", None).create(&ctx, &mut console).await.unwrap_err().to_string();
        assert_eq!(error, "Token not valid: user: ann is inactive: a token would not work.");
        assert!(console.said.is_empty() && console.noted.is_empty());
        assert_eq!(tokens::list_tokens(&ctx, None).await.unwrap().len(), 1);
    }

    #[test]
    fn migrate_check_lists_then_migrate_applies() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::defaults();
        settings.server.data_dir = dir.path().join("data");
        let run = |check: bool| {
            let mut out = Vec::new();
            let code = Migrate { check }.report(&settings, &mut out).unwrap();
            (code, String::from_utf8(out).unwrap())
        };
        let (code, out) = run(true);
        assert_eq!(code, ExitCode::FAILURE);
        assert!(out.starts_with("Pending migrations:\n  2026-11-28-000001_initial\n"), "{out}");
        assert!(out.contains("_accounts"), "{out}");
        let (code, out) = run(false);
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.starts_with("Applied 2026-11-28-000001_initial\n"), "{out}");
        assert_eq!(run(true), (ExitCode::SUCCESS, "No migrations to apply.\n".to_owned()));
        assert_eq!(run(false), (ExitCode::SUCCESS, "No migrations to apply.\n".to_owned()));
    }
}
