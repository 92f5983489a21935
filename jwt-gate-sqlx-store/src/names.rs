//! Table and schema names: validated as plain SQL identifiers, then quoted into the SQL.

/// The prefix of every table and index name a store creates, unless `with_table_prefix`
/// changes it: the tables are `jwt_gate_revoked_tokens`, `jwt_gate_families` and
/// `jwt_gate_identity_cutoffs`.
pub const DEFAULT_TABLE_PREFIX: &str = "jwt_gate_";

/// PostgreSQL's identifier limit, kept on SQLite too so that names move between the two.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The longest name a prefix is put in front of.
const LONGEST_SUFFIX: &str = "identity_cutoffs_expiry";

/// The longest table prefix: one that keeps every table and index name within
/// [`MAX_IDENTIFIER_BYTES`].
const MAX_PREFIX_BYTES: usize = MAX_IDENTIFIER_BYTES - LONGEST_SUFFIX.len();

/// A table prefix or schema name that is not a plain SQL identifier.
///
/// Names are spliced into the SQL text (bind parameters cannot name tables), so only ASCII
/// letters, digits and `_` are accepted, not starting with a digit. They are then quoted, so
/// they are case-sensitive and may be SQL keywords.
// Not `#[non_exhaustive]`: every field is private already.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid {what} {value:?}: it {problem}; use ASCII letters, digits and `_`, \
     not starting with a digit, at most {max_bytes} bytes"
)]
pub struct InvalidIdentifier {
    what: &'static str,
    value: String,
    problem: &'static str,
    max_bytes: usize,
}

impl InvalidIdentifier {
    /// The rejected prefix or schema name.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Checks the characters and length shared by prefixes and schema names.
fn problem(value: &str, max_bytes: usize) -> Option<&'static str> {
    if value.len() > max_bytes {
        Some("is too long")
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Some("contains a character other than ASCII letters, digits and `_`")
    } else if value.starts_with(|c: char| c.is_ascii_digit()) {
        Some("starts with a digit")
    } else {
        None
    }
}

/// Validates a table prefix. Empty is allowed (the tables are then `revoked_tokens`, ...);
/// SQLite reserves names starting with `sqlite_` (in any case) for itself.
pub(crate) fn check_table_prefix(prefix: &str, sqlite: bool) -> Result<(), InvalidIdentifier> {
    let sqlite_reserved = sqlite
        && prefix
            .get(..7)
            .is_some_and(|head| head.eq_ignore_ascii_case("sqlite_"));
    let problem = problem(prefix, MAX_PREFIX_BYTES).or_else(|| {
        sqlite_reserved.then_some("starts with `sqlite_`, which SQLite reserves for itself")
    });
    match problem {
        None => Ok(()),
        Some(problem) => Err(InvalidIdentifier {
            what: "table prefix",
            value: prefix.to_owned(),
            problem,
            max_bytes: MAX_PREFIX_BYTES,
        }),
    }
}

/// Validates a PostgreSQL schema name: not empty, and not `pg_...`, which PostgreSQL reserves
/// for system schemas.
#[cfg(feature = "postgres")]
pub(crate) fn check_schema(schema: &str) -> Result<(), InvalidIdentifier> {
    let problem = if schema.is_empty() {
        Some("is empty")
    } else {
        problem(schema, MAX_IDENTIFIER_BYTES).or_else(|| {
            schema
                .starts_with("pg_")
                .then_some("starts with `pg_`, which PostgreSQL reserves for system schemas")
        })
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(InvalidIdentifier {
            what: "schema name",
            value: schema.to_owned(),
            problem,
            max_bytes: MAX_IDENTIFIER_BYTES,
        }),
    }
}

/// Quotes a validated identifier: it holds no `"`, so wrapping it is enough.
fn quote(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

/// The quoted names of a store's tables (schema-qualified when it has a schema) and of their
/// indexes (never qualified: an index lives in its table's schema).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Names {
    pub(crate) revoked_tokens: String,
    pub(crate) families: String,
    pub(crate) identity_cutoffs: String,
    revoked_tokens_expiry: String,
    families_expiry: String,
    identity_cutoffs_expiry: String,
}

impl Names {
    /// The names for an already validated schema and prefix.
    pub(crate) fn new(schema: Option<&str>, prefix: &str) -> Self {
        let table = |suffix: &str| match schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(&format!("{prefix}{suffix}"))),
            None => quote(&format!("{prefix}{suffix}")),
        };
        let index = |suffix: &str| quote(&format!("{prefix}{suffix}"));
        Self {
            revoked_tokens: table("revoked_tokens"),
            families: table("families"),
            identity_cutoffs: table("identity_cutoffs"),
            revoked_tokens_expiry: index("revoked_tokens_expiry"),
            families_expiry: index("families_expiry"),
            identity_cutoffs_expiry: index(LONGEST_SUFFIX),
        }
    }

    /// Fills the `{..}` names of a migration template.
    pub(crate) fn render(&self, template: &str) -> String {
        template
            .replace("{revoked_tokens_expiry}", &self.revoked_tokens_expiry)
            .replace("{families_expiry}", &self.families_expiry)
            .replace("{identity_cutoffs_expiry}", &self.identity_cutoffs_expiry)
            .replace("{revoked_tokens}", &self.revoked_tokens)
            .replace("{families}", &self.families)
            .replace("{identity_cutoffs}", &self.identity_cutoffs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_plain_identifiers() {
        for ok in [
            "",
            "jwt_gate_",
            "app",
            "_x",
            "A1_b2",
            &"p".repeat(MAX_PREFIX_BYTES),
        ] {
            assert_eq!(check_table_prefix(ok, true), Ok(()), "{ok:?}");
        }
        for bad in [
            "1abc",
            "a-b",
            "a b",
            "a\"b",
            "a;DROP TABLE x;--",
            "é",
            "a.b",
            &"p".repeat(MAX_PREFIX_BYTES + 1),
        ] {
            let error = check_table_prefix(bad, false).unwrap_err();
            assert_eq!(error.value(), bad);
        }
    }

    #[test]
    fn longest_prefix_keeps_every_name_within_63_bytes() {
        let names = Names::new(None, &"p".repeat(MAX_PREFIX_BYTES));
        for name in [
            &names.revoked_tokens,
            &names.families,
            &names.identity_cutoffs,
            &names.revoked_tokens_expiry,
            &names.families_expiry,
            &names.identity_cutoffs_expiry,
        ] {
            // Two quotes around at most 63 bytes.
            assert!(name.len() <= MAX_IDENTIFIER_BYTES + 2, "{name}");
        }
        assert_eq!(
            names.identity_cutoffs_expiry.len(),
            MAX_IDENTIFIER_BYTES + 2
        );
    }

    #[test]
    fn sqlite_reserves_its_prefix_in_any_case() {
        assert!(check_table_prefix("sqlite_", true).is_err());
        assert!(check_table_prefix("SQLite_x", true).is_err());
        assert_eq!(check_table_prefix("sqlite", true), Ok(()));
        assert_eq!(check_table_prefix("sqlite_", false), Ok(()));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn schemas_are_plain_identifiers() {
        assert_eq!(check_schema("auth"), Ok(()));
        assert_eq!(check_schema("MixedCase_1"), Ok(()));
        assert_eq!(check_schema(&"s".repeat(63)), Ok(()));
        for bad in ["", "pg_auth", "1s", "a.b", "a\"b", &"s".repeat(64)] {
            assert!(check_schema(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn error_names_the_value_and_the_fix() {
        let error = check_table_prefix("my-app", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid table prefix \"my-app\": it contains a character other than ASCII \
             letters, digits and `_`; use ASCII letters, digits and `_`, not starting with a \
             digit, at most 40 bytes"
        );
    }

    #[test]
    fn names_are_quoted_and_qualified() {
        let names = Names::new(Some("auth"), "app_");
        assert_eq!(names.families, "\"auth\".\"app_families\"");
        assert_eq!(
            names.render("CREATE INDEX {families_expiry} ON {families} (expires_at);"),
            "CREATE INDEX \"app_families_expiry\" ON \"auth\".\"app_families\" (expires_at);"
        );
        let names = Names::new(None, DEFAULT_TABLE_PREFIX);
        assert_eq!(names.revoked_tokens, "\"jwt_gate_revoked_tokens\"");
        assert_eq!(names.identity_cutoffs, "\"jwt_gate_identity_cutoffs\"");
    }
}
