//! Accounts: teams, users, one-time passwords, the first admin and signing in.
//!
//! These are the operations behind both the command line (`team add`, `user add`,
//! `user reset-password`, the first `serve`) and the HTTP login, so the rules live once:
//! names are parsed into newtypes at the boundary, logins are compared lowercase, and the
//! login throttle is a pure policy ([`lock_for`]) applied through the database.

use crate::secrets::{self, SecretError};
use crate::storage::{Role, Storage, StorageError, Team, User};
use chrono::{DateTime, TimeDelta, Utc};

/// Why an account operation failed. The variants above `Storage` are the caller's mistakes
/// and are safe to show; the rest are internal.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The login is empty, too long or has characters outside letters, digits and `._-@`.
    #[error("a login is 1–64 letters, digits or . _ - @ (got {0:?})")]
    InvalidLogin(String),
    /// A display or team name is empty or longer than 100 characters.
    #[error("a name is 1–100 characters (got {0:?})")]
    InvalidName(String),
    /// The login is taken.
    #[error("the login {0:?} is already taken")]
    DuplicateLogin(String),
    /// A team of that name exists.
    #[error("a team named {0:?} already exists")]
    DuplicateTeam(String),
    /// `--team` names no team.
    #[error("there is no team named {0:?}")]
    UnknownTeam(String),
    /// No account has that login.
    #[error("there is no user with the login {0:?}")]
    UnknownUser(String),
    /// The account is not one the asking user may manage, or there is no such account: one
    /// case, so the answer does not tell which.
    #[error("no such account among yours")]
    NotYours,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Hashing or the random generator failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// A sign-in name: trimmed, lowercase, 1–64 letters (any script), digits or `._-@`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login(String);

impl Login {
    /// Parses what an admin typed or a client sent.
    pub fn parse(raw: &str) -> Result<Login, AccountError> {
        let login = raw.trim().to_lowercase();
        let length = login.chars().count();
        let allowed = login
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if (1..=64).contains(&length) && allowed {
            Ok(Login(login))
        } else {
            Err(AccountError::InvalidLogin(raw.to_string()))
        }
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display or team name: trimmed, 1–100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Name, AccountError> {
        let name = raw.trim();
        if (1..=100).contains(&name.chars().count()) {
            Ok(Name(name.to_string()))
        } else {
            Err(AccountError::InvalidName(raw.to_string()))
        }
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Failures of one login allowed before the first delay.
pub const FREE_FAILURES: u32 = 5;

/// The longest delay a login's failures set: a stranger guessing all day slows its owner by
/// at most this, never locks them out.
pub const MAX_LOCK: TimeDelta = TimeDelta::minutes(1);

/// Failures from one address allowed before the first delay: an office behind one address
/// mistypes more than one person does.
pub const FREE_ADDRESS_FAILURES: u32 = 20;

/// The longest delay an address's failures set (it slows whoever sprays many logins).
pub const MAX_ADDRESS_LOCK: TimeDelta = TimeDelta::minutes(15);

/// How long failures count: a count whose first failure is older starts again.
pub const THROTTLE_WINDOW: TimeDelta = TimeDelta::hours(1);

/// 2^(failures − free) seconds once `free` failures have been made (1 s, 2 s, 4 s …), capped.
fn growing(failures: u32, free: u32, cap: TimeDelta) -> Option<TimeDelta> {
    if failures < free {
        return None;
    }
    // 2^10 s already exceeds both caps; clamping the exponent avoids overflow.
    let exponent = (failures - free).min(10);
    Some(TimeDelta::seconds(1_i64 << exponent).min(cap))
}

/// The delay after a login's `failures`-th failure within the window: none for the first
/// four, then 1 s, 2 s, 4 s … capped at a minute. Whether an account has the login does not
/// matter: unknown logins are slowed exactly like known ones.
pub fn lock_for(failures: u32) -> Option<TimeDelta> {
    growing(failures, FREE_FAILURES, MAX_LOCK)
}

/// The delay after an address's `failures`-th failure within the window.
pub fn address_lock_for(failures: u32) -> Option<TimeDelta> {
    growing(failures, FREE_ADDRESS_FAILURES, MAX_ADDRESS_LOCK)
}

/// The throttle key of a login as typed: its stored form when it is a valid login, else the
/// text trimmed, lowercased and cut to a bounded length (so junk is throttled too, and the
/// table's keys stay small).
pub fn login_throttle_key(login: &str) -> String {
    match Login::parse(login) {
        Ok(login) => format!("login:{}", login.as_str()),
        Err(_) => {
            let text: String = login.trim().to_lowercase().chars().take(128).collect();
            format!("login:{text}")
        }
    }
}

/// The throttle key of a source address.
pub fn address_throttle_key(address: std::net::IpAddr) -> String {
    format!("addr:{address}")
}

/// Adds a team.
pub async fn add_team(
    storage: &dyn Storage,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Team, AccountError> {
    let name = Name::parse(name)?;
    let team = Team {
        id: secrets::new_id(now)?,
        name: name.as_str().to_string(),
        created_at: now,
    };
    storage
        .insert_team(&team)
        .await
        .map_err(|error| match error {
            StorageError::Duplicate(_) => AccountError::DuplicateTeam(team.name.clone()),
            other => AccountError::Storage(other),
        })?;
    Ok(team)
}

/// What `user add` asks for.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// The sign-in name as typed.
    pub login: String,
    /// The name colleagues see.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The team's name, if any.
    pub team: Option<String>,
}

/// Adds a user with a fresh one-time password, which is returned once and stored only as a
/// hash.
pub async fn add_user(
    storage: &dyn Storage,
    new: NewUser,
    now: DateTime<Utc>,
) -> Result<(User, String), AccountError> {
    let login = Login::parse(&new.login)?;
    let display_name = Name::parse(&new.display_name)?;
    let team_id = match &new.team {
        None => None,
        Some(team) => Some(
            storage
                .team_by_name(team.trim())
                .await?
                .ok_or_else(|| AccountError::UnknownTeam(team.clone()))?
                .id,
        ),
    };
    let password = secrets::one_time_password()?;
    let hash = secrets::hash_password(password.clone()).await?;
    let user = User {
        id: secrets::new_id(now)?,
        login: login.as_str().to_string(),
        display_name: display_name.as_str().to_string(),
        role: new.role,
        team_id,
        created_at: now,
        must_change_password: true,
    };
    storage
        .insert_user(&user, &hash)
        .await
        .map_err(|error| match error {
            StorageError::Duplicate(_) => AccountError::DuplicateLogin(user.login.clone()),
            other => AccountError::Storage(other),
        })?;
    Ok((user, password))
}

/// Gives a user a new one-time password; their sessions end and failed logins are forgotten.
pub async fn reset_password(storage: &dyn Storage, login: &str) -> Result<String, AccountError> {
    let parsed = Login::parse(login)?;
    let credentials = storage
        .user_by_login(parsed.as_str())
        .await?
        .ok_or_else(|| AccountError::UnknownUser(login.to_string()))?;
    let password = secrets::one_time_password()?;
    let hash = secrets::hash_password(password.clone()).await?;
    storage
        .set_password_hash(credentials.user.id, &hash, true)
        .await?;
    Ok(password)
}

/// A manager gives one of their team's reps a new one-time password (the rep forgot theirs,
/// or a phone was lost): the rep's sessions end, and their next sign-in must choose a new
/// password. Anyone else, and any id that is not a rep of the manager's team, gets
/// [`AccountError::NotYours`], the same for "not yours" and "no such account".
pub async fn reset_rep_password(
    storage: &dyn Storage,
    manager: &User,
    rep: uuid::Uuid,
) -> Result<String, AccountError> {
    let team = match (manager.role, manager.team_id) {
        (Role::Manager, Some(team)) => team,
        _ => return Err(AccountError::NotYours),
    };
    let member = storage
        .team_users(team)
        .await?
        .into_iter()
        .find(|user| user.id == rep && user.role == Role::Rep)
        .ok_or(AccountError::NotYours)?;
    let password = secrets::one_time_password()?;
    let hash = secrets::hash_password(password.clone()).await?;
    storage.set_password_hash(member.id, &hash, true).await?;
    Ok(password)
}

/// The fewest characters a chosen password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The most characters a chosen password may have (every sign-in hashes it).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why a new password was refused. Each is a message key the app translates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("use at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("use at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    /// The same as the password it replaces.
    #[error("choose a password different from the current one")]
    Unchanged,
    /// The login or the person's name is in it.
    #[error("do not put your login or name in your password")]
    Personal,
    /// A password common in breaches, or one built on a pattern guessers try first
    /// (keyboard runs, repeats, dates, a dictionary word with digits).
    #[error("this password is too common or easy to guess")]
    Common,
}

impl WeakPassword {
    /// The stable message key.
    pub fn key(self) -> &'static str {
        match self {
            WeakPassword::TooShort => "password_too_short",
            WeakPassword::TooLong => "password_too_long",
            WeakPassword::Unchanged => "password_unchanged",
            WeakPassword::Personal => "password_personal",
            WeakPassword::Common => "password_too_common",
        }
    }
}

/// Checks a password someone chose: long enough, not the one it replaces, free of their
/// login and name, and not guessable — not among the most common passwords of public
/// breaches (zxcvbn's list, shipped inside the binary) nor built on a pattern a guesser tries
/// early (zxcvbn scores it below 3 of 4: about 10^8 guesses or fewer).
pub fn check_new_password(user: &User, current: &str, new: &str) -> Result<(), WeakPassword> {
    let length = new.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(WeakPassword::TooShort);
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(WeakPassword::TooLong);
    }
    if new == current {
        return Err(WeakPassword::Unchanged);
    }
    let lower = new.to_lowercase();
    // The login, and each part of the display name long enough to mean something.
    let personal: Vec<String> = std::iter::once(user.login.to_lowercase())
        .chain(user.display_name.split_whitespace().map(str::to_lowercase))
        .filter(|part| part.chars().count() >= 4)
        .collect();
    if personal.iter().any(|part| lower.contains(part.as_str())) {
        return Err(WeakPassword::Personal);
    }
    let hints: Vec<&str> = personal
        .iter()
        .map(String::as_str)
        .chain(["fieldbook"])
        .collect();
    if zxcvbn::zxcvbn(new, &hints).score() < zxcvbn::Score::Three {
        return Err(WeakPassword::Common);
    }
    Ok(())
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The current password given is wrong (it counts as a failed sign-in).
    #[error("the current password is wrong")]
    WrongPassword,
    /// The new password is refused.
    #[error(transparent)]
    Weak(#[from] WeakPassword),
    /// Too many wrong passwords; try again after this many seconds.
    #[error("locked for {0} s")]
    Locked(u64),
    /// Something failed on the server.
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<StorageError> for ChangeError {
    fn from(error: StorageError) -> ChangeError {
        ChangeError::Account(AccountError::Storage(error))
    }
}

impl From<SecretError> for ChangeError {
    fn from(error: SecretError) -> ChangeError {
        ChangeError::Account(AccountError::Secret(error))
    }
}

/// The signed-in `user` replaces their password: the current one must be right (a session
/// left open on a borrowed phone cannot take the account over), and the new one must pass
/// [`check_new_password`]. A wrong current password counts under the same login throttle as
/// a failed sign-in, so a session cannot be used to guess faster. Every session of the user
/// ends (the caller starts a new one for this device), and the password is no longer a
/// one-time password.
pub async fn change_password(
    storage: &dyn Storage,
    user: &User,
    current: &str,
    new: &str,
    now: DateTime<Utc>,
) -> Result<(), ChangeError> {
    let key = login_throttle_key(&user.login);
    if let Some(until) = storage
        .throttle(&key)
        .await?
        .locked_until
        .filter(|until| *until > now)
    {
        return Err(ChangeError::Locked(retry_after_seconds(until - now)));
    }
    let credentials = storage
        .user_by_login(&user.login)
        .await?
        .filter(|credentials| credentials.user.id == user.id)
        .ok_or(AccountError::UnknownUser(user.login.clone()))?;
    if !secrets::verify_password(current.to_string(), credentials.password_hash).await? {
        storage
            .record_failure(&key, now, lock_for, THROTTLE_WINDOW)
            .await?;
        return Err(ChangeError::WrongPassword);
    }
    check_new_password(user, current, new)?;
    let hash = secrets::hash_password(new.to_string()).await?;
    storage.set_password_hash(user.id, &hash, false).await?;
    Ok(())
}

/// The colleagues `user` works with, sorted by display name (then login), or `None` for an
/// admin, who manages accounts and is in no team's sales work.
///
/// Everyone in a team gets the whole team, themselves included: a manager picks the rep a
/// lead goes to from it, and anyone reading a lead's history sees who logged each visit (a
/// handed-over lead keeps visits its earlier rep wrote). Someone without a team gets only
/// themselves. Every account counts: the server has no deactivated accounts.
pub async fn team_for(
    storage: &dyn Storage,
    user: &User,
) -> Result<Option<Vec<User>>, StorageError> {
    let others = match (user.role, user.team_id) {
        (Role::Admin, _) => return Ok(None),
        (_, None) => Vec::new(),
        (_, Some(team)) => {
            let mut members = storage.team_users(team).await?;
            members.retain(|member| member.role != Role::Admin && member.id != user.id);
            members
        }
    };
    let mut team: Vec<User> = others;
    team.push(user.clone());
    team.sort_by(|a, b| {
        a.display_name
            .cmp(&b.display_name)
            .then_with(|| a.login.cmp(&b.login))
    });
    Ok(Some(team))
}

/// The login of the account made on first start.
pub const FIRST_ADMIN_LOGIN: &str = "admin";

/// On a database without users, creates `admin` (role admin, no team) and returns its
/// one-time password; otherwise `None`.
///
/// Several servers starting together on one PostgreSQL database may all see zero users; the
/// unique login lets exactly one of them create the admin, and the others return `None`.
pub async fn ensure_first_admin(
    storage: &dyn Storage,
    now: DateTime<Utc>,
) -> Result<Option<String>, AccountError> {
    if storage.count_users().await? > 0 {
        return Ok(None);
    }
    let new = NewUser {
        login: FIRST_ADMIN_LOGIN.to_string(),
        display_name: "Administrator".to_string(),
        role: Role::Admin,
        team: None,
    };
    match add_user(storage, new, now).await {
        Ok((_, password)) => Ok(Some(password)),
        Err(AccountError::DuplicateLogin(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown login or wrong password: deliberately one case, so the answer does not tell
    /// which logins exist.
    #[error("wrong login or password")]
    InvalidCredentials,
    /// Too many failures; try again after this many seconds.
    #[error("account locked for {0} s")]
    Locked(u64),
    /// Something failed on the server.
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<StorageError> for LoginError {
    fn from(error: StorageError) -> LoginError {
        LoginError::Account(AccountError::Storage(error))
    }
}

impl From<SecretError> for LoginError {
    fn from(error: SecretError) -> LoginError {
        LoginError::Account(AccountError::Secret(error))
    }
}

/// Checks a login and password against the database and the throttles: the login's (a name,
/// whether or not an account has it) and the source address's.
///
/// While either delay runs the attempt is refused before anything is looked up or hashed,
/// for known and unknown logins alike: same status, body and Retry-After, and guesses during
/// a delay learn nothing. Otherwise an unknown login still costs one argon2 verification
/// (against `decoy_hash`), so timing does not tell which logins exist either. The delays
/// grow with failures within [`THROTTLE_WINDOW`] and are capped ([`MAX_LOCK`] for a login),
/// so the right password always works once the current delay has passed.
pub async fn sign_in(
    storage: &dyn Storage,
    login: &str,
    password: &str,
    from: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
    decoy_hash: &str,
) -> Result<User, LoginError> {
    let login_key = login_throttle_key(login);
    let address_key = from.map(address_throttle_key);
    let mut until = storage.throttle(&login_key).await?.locked_until;
    if let Some(key) = &address_key {
        until = until.max(storage.throttle(key).await?.locked_until);
    }
    if let Some(until) = until.filter(|until| *until > now) {
        return Err(LoginError::Locked(retry_after_seconds(until - now)));
    }
    let credentials = match Login::parse(login) {
        Ok(login) => storage.user_by_login(login.as_str()).await?,
        Err(_) => None,
    };
    let signed_in = match credentials {
        Some(credentials) => {
            let right =
                secrets::verify_password(password.to_string(), credentials.password_hash).await?;
            right.then_some(credentials.user)
        }
        None => {
            secrets::verify_password(password.to_string(), decoy_hash.to_string()).await?;
            None
        }
    };
    match signed_in {
        Some(user) => {
            storage.clear_throttle(&login_key).await?;
            Ok(user)
        }
        None => {
            storage
                .record_failure(&login_key, now, lock_for, THROTTLE_WINDOW)
                .await?;
            if let Some(key) = &address_key {
                storage
                    .record_failure(key, now, address_lock_for, THROTTLE_WINDOW)
                    .await?;
            }
            Err(LoginError::InvalidCredentials)
        }
    }
}

/// Whole seconds to wait, rounded up and at least one, as `Retry-After` wants.
fn retry_after_seconds(remaining: TimeDelta) -> u64 {
    let millis = u64::try_from(remaining.num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_five_failures_double_and_stop_at_a_minute() {
        for failures in 0..5 {
            assert_eq!(lock_for(failures), None, "{failures}");
        }
        assert_eq!(lock_for(5), Some(TimeDelta::seconds(1)));
        assert_eq!(lock_for(6), Some(TimeDelta::seconds(2)));
        assert_eq!(lock_for(7), Some(TimeDelta::seconds(4)));
        assert_eq!(lock_for(10), Some(TimeDelta::seconds(32)));
        assert_eq!(lock_for(11), Some(MAX_LOCK));
        assert_eq!(lock_for(u32::MAX), Some(MAX_LOCK));
        // An address gets twenty, then up to fifteen minutes.
        assert_eq!(address_lock_for(19), None);
        assert_eq!(address_lock_for(20), Some(TimeDelta::seconds(1)));
        assert_eq!(address_lock_for(u32::MAX), Some(MAX_ADDRESS_LOCK));
    }

    #[test]
    fn throttle_keys_name_a_login_as_stored_and_bound_junk() {
        assert_eq!(login_throttle_key("  Wang.Li "), "login:wang.li");
        assert_eq!(login_throttle_key("has space"), "login:has space");
        assert_eq!(
            login_throttle_key(&"x".repeat(500)).len(),
            "login:".len() + 128
        );
        assert_eq!(
            address_throttle_key("203.0.113.9".parse().unwrap()),
            "addr:203.0.113.9"
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(TimeDelta::milliseconds(1)), 1);
        assert_eq!(retry_after_seconds(TimeDelta::milliseconds(1000)), 1);
        assert_eq!(retry_after_seconds(TimeDelta::milliseconds(1001)), 2);
        assert_eq!(retry_after_seconds(TimeDelta::zero()), 1);
    }

    #[test]
    fn logins_are_trimmed_lowercase_and_limited() {
        assert_eq!(Login::parse("  Wang.Li ").unwrap().as_str(), "wang.li");
        assert_eq!(Login::parse("王小明").unwrap().as_str(), "王小明");
        assert!(Login::parse("").is_err());
        assert!(Login::parse("has space").is_err());
        assert!(Login::parse(&"a".repeat(65)).is_err());
    }

    fn rep() -> User {
        User {
            id: uuid::Uuid::nil(),
            login: "wang.li".into(),
            display_name: "王丽 Wang Lili".into(),
            role: Role::Rep,
            team_id: None,
            created_at: DateTime::UNIX_EPOCH,
            must_change_password: true,
        }
    }

    #[test]
    fn new_passwords_are_long_new_impersonal_and_hard_to_guess() {
        let check = |new: &str| check_new_password(&rep(), "abcd-efgh-jkmn-pqrs", new);
        assert_eq!(check("short1!"), Err(WeakPassword::TooShort));
        // Twelve characters, counted as characters: eleven Chinese ones are too few.
        assert_eq!(check("销售拜访记录客户跟进计划"), Ok(()));
        assert_eq!(check("销售拜访记录客户跟进计"), Err(WeakPassword::TooShort));
        assert_eq!(check(&"x".repeat(129)), Err(WeakPassword::TooLong));
        assert_eq!(
            check_new_password(&rep(), "a fine old password", "a fine old password"),
            Err(WeakPassword::Unchanged)
        );
        assert_eq!(check("Wang.Li-2026-rocks"), Err(WeakPassword::Personal));
        assert_eq!(check("my lili garden path"), Err(WeakPassword::Personal));
        // Breached favourites and patterns, each at least twelve characters long.
        for common in [
            "password1234",
            "qwertyuiop123",
            "123456789012",
            "iloveyou1234",
            "aaaaaaaaaaaa",
            "1q2w3e4r5t6y",
            "Password2026!",
            "fieldbook123",
        ] {
            assert_eq!(check(common), Err(WeakPassword::Common), "{common}");
        }
        for fine in [
            "correct horse battery staple",
            "Tea at 4, then the Hangzhou client",
            "kx7-Vbq2-Lm9w-Tr4z",
        ] {
            assert_eq!(check(fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn names_are_trimmed_and_limited() {
        assert_eq!(Name::parse(" 华东一组 ").unwrap().as_str(), "华东一组");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(101)).is_err());
    }
}
