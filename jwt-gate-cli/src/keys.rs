//! Key files, read into the library's [`KeyMaterial`]: jwt-gate parses, validates and
//! describes every key, and reads the file (`KeyMaterial::from_pem_file`: bounded, wiped
//! after use); this words the command's messages.

use std::path::Path;

use jwt_gate::{Algorithm, ConfigError, Key, KeyMaterial};

use crate::Fail;

/// The reason of a key error, without the library's `key: ` prefix (the command puts the file
/// name there instead).
pub(crate) fn reason(error: ConfigError) -> String {
    match error {
        ConfigError::Key(reason) => reason,
        other => other.to_string(),
    }
}

/// Reads a PEM key file: a private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SEC1
/// `EC PRIVATE KEY`, after an optional `EC PARAMETERS` block) or a public key (`PUBLIC KEY`,
/// PKCS#1 `RSA PUBLIC KEY`). Errors name the file.
pub(crate) fn read_key_file(path: &Path) -> Result<KeyMaterial, Fail> {
    KeyMaterial::from_pem_file(path)
        .map_err(|e| Fail::usage(format!("{}: {}", path.display(), reason(e))))
}

/// The key of `path` for `alg`, which the caller has checked that it fits.
pub(crate) fn into_key(material: KeyMaterial, alg: Algorithm, path: &Path) -> Result<Key, Fail> {
    material
        .into_key(alg)
        .map_err(|e| Fail::usage(format!("{}: {}", path.display(), reason(e))))
}

/// The algorithms a key fits, as prose: `ES256`, or `RS256, RS384, ... or PS512`.
pub(crate) fn algorithms(material: &KeyMaterial) -> String {
    let names: Vec<&str> = material
        .algorithms()
        .into_iter()
        .map(Algorithm::as_str)
        .collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "no algorithm".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn material(algorithm: Algorithm) -> KeyMaterial {
        let pair = Key::generate(algorithm).unwrap();
        KeyMaterial::from_pem(pair.public_pem.as_bytes()).unwrap()
    }

    #[test]
    fn algorithms_read_as_prose() {
        assert_eq!(algorithms(&material(Algorithm::ES256)), "ES256");
        assert_eq!(algorithms(&material(Algorithm::EdDSA)), "EdDSA");
        assert_eq!(
            algorithms(&material(Algorithm::PS256)),
            "RS256, RS384, RS512, PS256, PS384 or PS512"
        );
    }

    #[test]
    fn key_files_are_bounded_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'A'; 64 * 1024 + 1]).unwrap();
        let error = read_key_file(&big).unwrap_err().message;
        assert!(
            error.ends_with("big.pem: too large for a PEM key file"),
            "{error}"
        );
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "hello").unwrap();
        let error = read_key_file(&garbage).unwrap_err().message;
        assert!(error.ends_with("garbage.pem: not a PEM file"), "{error}");
        let pair = Key::generate(Algorithm::ES384).unwrap();
        let private = dir.path().join("private.pem");
        std::fs::write(&private, pair.private_pem.as_bytes()).unwrap();
        let read = read_key_file(&private).unwrap();
        assert!(read.is_private());
        assert_eq!(read.to_string(), "a P-384 key");
    }
}
