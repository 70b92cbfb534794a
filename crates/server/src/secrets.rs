//! Passwords and tokens: argon2id hashing, session tokens and one-time passwords.
//!
//! Randomness comes only from the operating system's generator. Hashing and verifying run on
//! tokio's blocking pool: one argon2id call takes tens of milliseconds of CPU and 19 MiB, and
//! on an async worker thread it would stall every other request on that thread. At most one
//! call per core runs at a time ([`HASHING`]): more could not finish sooner, and each holds
//! 19 MiB, so a burst of logins would otherwise take 19 MiB apiece (14 at once: 280 MB).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::id::Id;
use rand::rngs::SysRng;
use rand::TryRng as _;
use sha2::{Digest as _, Sha256};
use std::sync::{Arc, LazyLock};
use tokio::sync::Semaphore;

/// Why a secret could not be made or checked. Never shown to a client.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The operating system's random generator failed.
    #[error("the OS random generator failed: {0}")]
    Random(String),
    /// argon2 refused its parameters or input.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// A stored hash is not a PHC string.
    #[error("stored password hash is unreadable: {0}")]
    StoredHash(String),
    /// The blocking task was cancelled (the runtime is shutting down).
    #[error("the hashing task did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Every hashing turn stayed taken for [`HASH_WAIT`]: a burst of sign-ins; the client
    /// is asked to retry (503).
    #[error("every password-hashing turn is taken")]
    Busy,
}

/// How long a password check waits for a turn before the request is answered 503: at one
/// turn per core and tens of milliseconds a hash, a few seconds of queue is a burst no
/// person makes, and waiting longer would only hold connections open.
pub const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Turns to hash or verify: one per core.
static HASHING: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Arc::new(Semaphore::new(cores))
});

/// Runs one argon2 call on the blocking pool when a turn is free.
async fn with_turn<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    with_turn_of(&HASHING, HASH_WAIT, work).await
}

/// Runs `work` on the blocking pool with a turn of `turns`, waiting at most `wait` for one.
async fn with_turn_of<T: Send + 'static>(
    turns: &Arc<Semaphore>,
    wait: std::time::Duration,
    work: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    // The turn goes with the work, so a request given up while its hash runs does not free
    // a turn early. The semaphore is never closed, so acquiring cannot fail; were it
    // closed, the work would run without a turn.
    let turn = tokio::time::timeout(wait, Arc::clone(turns).acquire_owned())
        .await
        .map_err(|_| SecretError::Busy)?
        .ok();
    tokio::task::spawn_blocking(move || {
        let result = work();
        drop(turn);
        result
    })
    .await?
}

/// argon2id with OWASP's minimum: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Result<Argon2<'static>, SecretError> {
    let params =
        Params::new(19_456, 2, 1, None).map_err(|error| SecretError::Hash(error.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt; returns the PHC string to store.
pub async fn hash_password(password: String) -> Result<String, SecretError> {
    with_turn(move || {
        let hash = argon2()?
            .hash_password(password.as_bytes())
            .map_err(|error| SecretError::Hash(error.to_string()))?;
        Ok(hash.to_string())
    })
    .await
}

/// Whether `password` matches the stored PHC string. The parameters stored with the hash are
/// used, so raising them later keeps old hashes valid.
pub async fn verify_password(password: String, stored: String) -> Result<bool, SecretError> {
    with_turn(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|error| SecretError::StoredHash(error.to_string()))?;
        Ok(argon2()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|error| SecretError::Random(error.to_string()))?;
    Ok(bytes)
}

/// A new server-made id (teams, users): a UUIDv7 built by the domain crate, the same way
/// devices make record ids, from the time and ten bytes of the OS generator.
pub fn new_id(now: DateTime<Utc>) -> Result<uuid::Uuid, SecretError> {
    let unix_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    Ok(*Id::from_parts(unix_ms, random_bytes::<10>()?).as_uuid())
}

/// A new session token: 32 random bytes, base64url without padding (43 characters, safe in a
/// cookie value without quoting).
pub fn session_token() -> Result<String, SecretError> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// The form of a session token that is stored: lowercase hex SHA-256. A plain hash is enough
/// (no salt, no argon2) because the token already has 256 bits of entropy.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// 32 symbols without look-alikes (no I, O, 0, 1): each random byte maps to one symbol with
/// `byte % 32`, which is unbiased because 256 is a multiple of 32.
const OTP_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A one-time password to read out or paste: 16 symbols (80 bits) in four groups,
/// e.g. `K7QM-3XWA-PZ9T-H2CN`.
pub fn one_time_password() -> Result<String, SecretError> {
    let bytes = random_bytes::<16>()?;
    let mut out = String::with_capacity(19);
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 && index % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(OTP_ALPHABET[usize::from(byte % 32)]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_cookie_safe() {
        let first = session_token().unwrap();
        let second = session_token().unwrap();
        assert_eq!(first.len(), 43);
        assert_ne!(first, second);
        assert!(first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn new_ids_are_uuid_v7_in_time_order() {
        let now = Utc::now();
        let first = new_id(now).unwrap();
        let later = new_id(now + chrono::TimeDelta::milliseconds(1)).unwrap();
        assert_eq!(first.get_version_num(), 7);
        assert!(first < later);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn one_time_passwords_use_four_groups_of_unambiguous_symbols() {
        let otp = one_time_password().unwrap();
        assert_eq!(otp.len(), 19);
        let groups: Vec<&str> = otp.split('-').collect();
        assert_eq!(groups.len(), 4);
        assert!(groups
            .iter()
            .all(|group| group.len() == 4 && group.bytes().all(|b| OTP_ALPHABET.contains(&b))));
    }

    #[tokio::test]
    async fn a_hash_waits_for_a_turn_only_so_long() {
        let turns = Arc::new(Semaphore::new(1));
        let wait = std::time::Duration::from_millis(50);
        let held = Arc::clone(&turns).acquire_owned().await.unwrap();
        let refused = with_turn_of(&turns, wait, || Ok(1)).await;
        assert!(matches!(refused, Err(SecretError::Busy)), "{refused:?}");
        drop(held);
        assert_eq!(with_turn_of(&turns, wait, || Ok(2)).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse".to_string()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse".to_string(), hash.clone())
            .await
            .unwrap());
        assert!(!verify_password("wrong".to_string(), hash).await.unwrap());
    }
}
