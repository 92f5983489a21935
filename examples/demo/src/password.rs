//! Passwords: argon2id hashes (PHC strings), hashed and verified off the async runtime.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::task::JoinError;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HashError {
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("the hashing task failed: {0}")]
    Join(#[from] JoinError),
}

/// Hashes `password` with argon2id (the crate's defaults: 19 MiB, 2 passes) and a random salt.
pub(crate) async fn hash(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await?
        .map_err(HashError::Argon2)
}

fn hash_now(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

/// Whether `password` matches `hash`; with `hash` = `None` (no such user), verifies against a
/// dummy hash and answers `false`, so an unknown email takes as long as a wrong password.
pub(crate) async fn verify(password: String, hash: Option<String>) -> Result<bool, JoinError> {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_now(&password, &hash),
        None => {
            verify_now(&password, dummy_hash());
            false
        }
    })
    .await
}

fn verify_now(password: &str, hash: &str) -> bool {
    // argon2 compares the computed hash with the stored one in constant time.
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a password nobody knows, with the same parameters as real ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("no user has this password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hash = hash("correct horse".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(
            verify("correct horse".to_owned(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".to_owned(), Some(hash)).await.unwrap());
        assert!(
            !verify("no user has this password".to_owned(), None)
                .await
                .unwrap()
        );
        assert!(
            !verify("x".to_owned(), Some("not a hash".to_owned()))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn salts_differ() {
        let a = hash("same password".to_owned()).await.unwrap();
        let b = hash("same password".to_owned()).await.unwrap();
        assert_ne!(a, b);
    }
}
