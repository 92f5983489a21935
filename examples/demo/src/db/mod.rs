//! Storage: [`Db`] on SQLite or PostgreSQL, with its embedded migrations.
//!
//! Every rule that must hold under concurrency (unique names, unique users, existing stores)
//! is a constraint of the database; the code maps constraint violations to answers instead of
//! checking first and writing second.

mod postgres;
mod sqlite;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use sqlx::error::ErrorKind;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, PgPool, SqlSafeStr, SqlitePool};
use utoipa::ToSchema;

/// A user, as the API shows it (never with its password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "username": "joe", "email": "joe@example.com"}))]
#[non_exhaustive]
pub struct User {
    /// Positive, assigned in increasing order, never reused.
    #[schema(minimum = 1)]
    pub id: i64,
    /// Unique, compared exactly.
    pub username: String,
    /// As registered; unique ignoring ASCII case.
    pub email: String,
}

impl jwt_gate::Identity for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }
}

/// An item, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "chair", "price": 12.5, "store_id": 1}))]
pub(crate) struct Item {
    /// Positive, assigned in increasing order, never reused.
    #[schema(minimum = 1)]
    pub(crate) id: i64,
    /// Unique among items; 1 to 80 characters, no control character.
    pub(crate) name: String,
    /// As sent (a 64-bit float), at least 0.
    #[schema(minimum = 0)]
    pub(crate) price: f64,
    /// The id of the store the item belongs to.
    pub(crate) store_id: i64,
}

/// A store with its items, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "shop", "items": [
    {"id": 1, "name": "chair", "price": 12.5, "store_id": 1}
]}))]
pub(crate) struct Store {
    /// Positive, assigned in increasing order, never reused.
    #[schema(minimum = 1)]
    pub(crate) id: i64,
    /// Unique among stores; 1 to 80 characters, no control character.
    pub(crate) name: String,
    /// The store's items, sorted by id.
    pub(crate) items: Vec<Item>,
}

/// What `INSERT` into `users` ran into.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NewUser {
    Created,
    /// A unique constraint (username or email) refused the row.
    Taken,
}

/// The outcome of `POST /item/<name>`.
#[derive(Debug)]
pub(crate) enum CreateItem {
    Created(Item),
    NameTaken,
    NoStore,
}

/// The outcome of `PUT /item/<name>`.
#[derive(Debug)]
pub(crate) enum PutItem {
    Created(Item),
    Updated(Item),
    NoStore,
}

/// The outcome of `DELETE /store/<name>`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DeleteStore {
    Deleted,
    NotFound,
    HasItems,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// `DATABASE_URL` names neither SQLite nor PostgreSQL.
    #[error("DATABASE_URL: expected sqlite://<path> or postgres://…")]
    UnsupportedUrl,
    /// The URL could not be parsed, or the database could not be reached or opened.
    #[error("DATABASE_URL: cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// The schema could not be created or migrated.
    #[error("DATABASE_URL: cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// The demo's database: a connection pool on SQLite or PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        };
        f.debug_struct("Db").field("backend", &backend).finish()
    }
}

/// Runs `$call` on the backend's pool, with the backend module's function of that name.
macro_rules! dispatch {
    ($db:expr, $function:ident($($arg:expr),*)) => {
        match &$db.backend {
            Backend::Sqlite(pool) => sqlite::$function(pool $(, $arg)*).await,
            Backend::Postgres(pool) => postgres::$function(pool $(, $arg)*).await,
        }
    };
}

impl Db {
    /// Opens `url` (`sqlite://<path>[?params]`, the file created if missing, or
    /// `postgres://…`) and creates or migrates the schema.
    ///
    /// # Errors
    /// An unsupported or unparsable URL, an unreachable database (such as a SQLite file in a
    /// directory that does not exist), or a failed migration.
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite(sqlite::connect(url).await?)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres(postgres::connect(url).await?)
        } else {
            return Err(OpenError::UnsupportedUrl);
        };
        Ok(Self { backend })
    }

    /// Closes every connection, waiting at most `timeout` for those in use.
    pub async fn close(&self, timeout: Duration) {
        let close = async {
            match &self.backend {
                Backend::Sqlite(pool) => pool.close().await,
                Backend::Postgres(pool) => pool.close().await,
            }
        };
        if tokio::time::timeout(timeout, close).await.is_err() {
            tracing::warn!("database connections still in use at shutdown");
        }
    }

    pub(crate) async fn username_taken(&self, username: &str) -> Result<bool, sqlx::Error> {
        dispatch!(self, username_taken(username))
    }

    pub(crate) async fn email_taken(&self, email_key: &str) -> Result<bool, sqlx::Error> {
        dispatch!(self, email_taken(email_key))
    }

    pub(crate) async fn insert_user(
        &self,
        username: &str,
        email: &str,
        email_key: &str,
        password_hash: &str,
    ) -> Result<NewUser, sqlx::Error> {
        dispatch!(self, insert_user(username, email, email_key, password_hash))
    }

    pub(crate) async fn user(&self, id: i64) -> Result<Option<User>, sqlx::Error> {
        dispatch!(self, user(id))
    }

    /// The user with this ASCII-lowercased email, and its password hash.
    pub(crate) async fn login(
        &self,
        email_key: &str,
    ) -> Result<Option<(User, String)>, sqlx::Error> {
        dispatch!(self, login(email_key))
    }

    pub(crate) async fn item(&self, name: &str) -> Result<Option<Item>, sqlx::Error> {
        dispatch!(self, item(name))
    }

    pub(crate) async fn items(&self) -> Result<Vec<Item>, sqlx::Error> {
        dispatch!(self, items())
    }

    pub(crate) async fn create_item(
        &self,
        name: &str,
        price: f64,
        store_id: i64,
    ) -> Result<CreateItem, sqlx::Error> {
        dispatch!(self, create_item(name, price, store_id))
    }

    pub(crate) async fn put_item(
        &self,
        name: &str,
        price: f64,
        store_id: i64,
    ) -> Result<PutItem, sqlx::Error> {
        dispatch!(self, put_item(name, price, store_id))
    }

    /// Whether an item was deleted.
    pub(crate) async fn delete_item(&self, name: &str) -> Result<bool, sqlx::Error> {
        dispatch!(self, delete_item(name))
    }

    pub(crate) async fn store(&self, name: &str) -> Result<Option<Store>, sqlx::Error> {
        dispatch!(self, store(name))
    }

    pub(crate) async fn stores(&self) -> Result<Vec<Store>, sqlx::Error> {
        dispatch!(self, stores())
    }

    /// The new store, or `None` if the name is taken.
    pub(crate) async fn create_store(&self, name: &str) -> Result<Option<Store>, sqlx::Error> {
        dispatch!(self, create_store(name))
    }

    pub(crate) async fn delete_store(&self, name: &str) -> Result<DeleteStore, sqlx::Error> {
        dispatch!(self, delete_store(name))
    }
}

/// Embedded migrations, as `(version, description, sql)`.
fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    AssertSqlSafe(sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The kind of constraint `error` violated, if it is a constraint violation.
fn violation(error: &sqlx::Error) -> Option<ErrorKind> {
    error.as_database_error().map(|e| e.kind())
}

/// Groups `items` (sorted by id) under `stores` (sorted by id).
fn with_items(stores: Vec<(i64, String)>, items: Vec<Item>) -> Vec<Store> {
    let mut stores: Vec<Store> = stores
        .into_iter()
        .map(|(id, name)| Store {
            id,
            name,
            items: Vec::new(),
        })
        .collect();
    for item in items {
        if let Ok(index) = stores.binary_search_by_key(&item.store_id, |store| store.id) {
            stores[index].items.push(item);
        }
    }
    stores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, store_id: i64) -> Item {
        Item {
            id,
            name: format!("item{id}"),
            price: 1.0,
            store_id,
        }
    }

    #[test]
    fn items_go_to_their_store_in_order() {
        let stores = with_items(
            vec![(1, "a".into()), (3, "b".into())],
            vec![item(1, 3), item(2, 1), item(4, 3)],
        );
        assert_eq!(stores[0].items, vec![item(2, 1)]);
        assert_eq!(stores[1].items, vec![item(1, 3), item(4, 3)]);
    }

    #[tokio::test]
    async fn unsupported_urls_are_refused() {
        for url in ["mysql://localhost/db", "demo.db", ""] {
            assert!(matches!(
                Db::connect(url).await,
                Err(OpenError::UnsupportedUrl)
            ));
        }
    }
}
