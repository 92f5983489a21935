//! [`Config`]: the demo's environment variables (DEMO-API.md §1).

use std::fmt;
use std::time::Duration;

use jwt_gate::{JwtConfig, MIN_SECRET_BYTES};

/// Bytes of the random secret used when `JWT_SECRET_KEY` is unset.
const GENERATED_SECRET_BYTES: usize = 64;

/// The demo's settings, read from `HOST`, `PORT`, `DATABASE_URL`, `JWT_SECRET_KEY`,
/// `JWT_EXPIRATION_DELTA` and `JWT_LEEWAY`. No other variable is read: the login path, its
/// keys and the header prefix are fixed by the contract.
#[non_exhaustive]
pub struct Config {
    /// Address to listen on. Defaults to `127.0.0.1`.
    pub host: String,
    /// TCP port to listen on, 1 to 65535. Defaults to 5000.
    pub port: u16,
    /// `sqlite://<path>` or `postgres://…`. Defaults to `sqlite://demo.db`.
    pub database_url: String,
    /// The HS256 secret: `JWT_SECRET_KEY`, or random bytes when it is unset or empty.
    pub jwt_secret: Vec<u8>,
    /// Whether [`jwt_secret`](Self::jwt_secret) was generated for this run.
    pub secret_generated: bool,
    /// Token lifetime. Defaults to 1800 seconds.
    pub expiration_delta: Duration,
    /// Clock leeway for `exp`, `nbf` and `iat`. Defaults to 10 seconds.
    pub leeway: Duration,
    /// `LOGIN_THROTTLE`: failed logins allowed per rolling minute per email (5× per client
    /// IP). Defaults to off.
    pub login_throttle: Option<u32>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database_url", &"[redacted]")
            .field("jwt_secret", &"[redacted]")
            .field("secret_generated", &self.secret_generated)
            .field("expiration_delta", &self.expiration_delta)
            .field("leeway", &self.leeway)
            .field("login_throttle", &self.login_throttle)
            .finish()
    }
}

/// A variable with a value the demo cannot run with. `Display` names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it and what would be right.
    pub reason: String,
}

impl ConfigError {
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// A variable that is set to an unusable value (see [`from_lookup`](Self::from_lookup)).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// Reads the variables through `lookup`. An unset or empty variable takes its default.
    ///
    /// # Errors
    /// `PORT` that is not a whole number from 1 to 65535, `JWT_EXPIRATION_DELTA` that is not a
    /// positive whole number of seconds, `JWT_LEEWAY` that is not a non-negative whole number
    /// of seconds, or a `JWT_SECRET_KEY` shorter than 32 bytes.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let port = match get("PORT") {
            None => 5000,
            Some(value) => parse_whole("PORT", &value)?
                .try_into()
                .ok()
                .filter(|&port: &u16| port != 0)
                .ok_or_else(|| ConfigError::new("PORT", "must be a port number from 1 to 65535"))?,
        };
        let expiration_delta = match get("JWT_EXPIRATION_DELTA") {
            None => 1800,
            Some(value) => match parse_whole("JWT_EXPIRATION_DELTA", &value)? {
                0 => {
                    return Err(ConfigError::new(
                        "JWT_EXPIRATION_DELTA",
                        "the token lifetime must be at least 1 second",
                    ));
                }
                seconds => seconds,
            },
        };
        let leeway = match get("JWT_LEEWAY") {
            None => 10,
            Some(value) => parse_whole("JWT_LEEWAY", &value)?,
        };
        let (jwt_secret, secret_generated) = match get("JWT_SECRET_KEY") {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(ConfigError::new(
                    "JWT_SECRET_KEY",
                    format!(
                        "the secret is {} bytes; use at least {MIN_SECRET_BYTES} random bytes",
                        secret.len()
                    ),
                ));
            }
            Some(secret) => (secret.into_bytes(), false),
            None => (random_secret()?, true),
        };
        Ok(Self {
            host: get("HOST").unwrap_or_else(|| "127.0.0.1".to_owned()),
            port,
            database_url: get("DATABASE_URL").unwrap_or_else(|| "sqlite://demo.db".to_owned()),
            jwt_secret,
            secret_generated,
            expiration_delta: Duration::from_secs(expiration_delta),
            leeway: Duration::from_secs(leeway),
            login_throttle: match get("LOGIN_THROTTLE") {
                None => None,
                Some(value) => Some(
                    u32::try_from(parse_whole("LOGIN_THROTTLE", &value)?)
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| {
                            ConfigError::new(
                                "LOGIN_THROTTLE",
                                "must be a whole number from 1 to 4294967295",
                            )
                        })?,
                ),
            },
        })
    }

    /// jwt-gate's settings for the demo: login at `POST /login` with `email` and `password`,
    /// this lifetime and leeway, everything else at Flask-JWT's defaults.
    #[must_use]
    pub fn jwt_config(&self) -> JwtConfig {
        let mut config = JwtConfig::default();
        "/login".clone_into(&mut config.auth_url_rule);
        "email".clone_into(&mut config.auth_username_key);
        "password".clone_into(&mut config.auth_password_key);
        "JWT".clone_into(&mut config.auth_header_prefix);
        config.expiration_delta = self.expiration_delta;
        config.leeway = self.leeway;
        config.max_body_bytes = crate::MAX_BODY_BYTES;
        config
    }
}

/// A whole number written with ASCII digits only (no sign, no spaces).
fn parse_whole(variable: &'static str, value: &str) -> Result<u64, ConfigError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::new(
            variable,
            format!("{value:?} is not a whole number"),
        ));
    }
    value
        .parse()
        .map_err(|_| ConfigError::new(variable, format!("{value} is out of range")))
}

fn random_secret() -> Result<Vec<u8>, ConfigError> {
    let mut secret = vec![0; GENERATED_SECRET_BYTES];
    getrandom::fill(&mut secret).map_err(|error| {
        ConfigError::new(
            "JWT_SECRET_KEY",
            format!("not set, and no random secret could be generated ({error}); set it"),
        )
    })?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults() {
        let config = config(&[]).unwrap();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 5000);
        assert_eq!(config.database_url, "sqlite://demo.db");
        assert!(config.secret_generated);
        assert!(config.jwt_secret.len() >= 32);
        assert_eq!(config.expiration_delta, Duration::from_secs(1800));
        assert_eq!(config.leeway, Duration::from_secs(10));
        let jwt = config.jwt_config();
        assert_eq!(jwt.auth_url_rule, "/login");
        assert_eq!(jwt.auth_username_key, "email");
        assert_eq!(jwt.auth_password_key, "password");
    }

    #[test]
    fn two_generated_secrets_differ() {
        assert_ne!(
            config(&[]).unwrap().jwt_secret,
            config(&[]).unwrap().jwt_secret
        );
    }

    #[test]
    fn values_are_read() {
        let config = config(&[
            ("HOST", "0.0.0.0"),
            ("PORT", "8080"),
            ("DATABASE_URL", "sqlite:///tmp/x.db"),
            ("JWT_SECRET_KEY", SECRET),
            ("JWT_EXPIRATION_DELTA", "60"),
            ("JWT_LEEWAY", "0"),
        ])
        .unwrap();
        assert_eq!((config.host.as_str(), config.port), ("0.0.0.0", 8080));
        assert_eq!(config.database_url, "sqlite:///tmp/x.db");
        assert_eq!(config.jwt_secret, SECRET.as_bytes());
        assert!(!config.secret_generated);
        assert_eq!(config.expiration_delta, Duration::from_secs(60));
        assert_eq!(config.leeway, Duration::ZERO);
    }

    #[test]
    fn empty_secret_is_unset() {
        assert!(config(&[("JWT_SECRET_KEY", "")]).unwrap().secret_generated);
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (name, value) in [
            ("JWT_SECRET_KEY", &SECRET[..31]),
            ("PORT", "0"),
            ("PORT", "65536"),
            ("PORT", "http"),
            ("PORT", "-1"),
            ("PORT", "+80"),
            ("PORT", " 80"),
            ("JWT_EXPIRATION_DELTA", "0"),
            ("JWT_EXPIRATION_DELTA", "1.5"),
            ("JWT_EXPIRATION_DELTA", "99999999999999999999999"),
            ("JWT_LEEWAY", "-1"),
            ("JWT_LEEWAY", "ten"),
        ] {
            let error = config(&[(name, value)]).unwrap_err();
            assert_eq!(error.variable, name, "{name}={value}");
            assert!(error.to_string().starts_with(name));
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let config = config(&[("JWT_SECRET_KEY", SECRET)]).unwrap();
        assert!(!format!("{config:?}").contains(SECRET));
    }
}
