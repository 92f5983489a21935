//! The PostgreSQL backend: identity columns, `ON CONFLICT` upserts, and the same answers as
//! the SQLite backend. Several instances may share one database (migrations take an advisory
//! lock).

use std::str::FromStr;
use std::time::Duration;

use sqlx::error::ErrorKind;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row, query, query_scalar};

use super::{
    CreateItem, DeleteStore, Item, NewUser, OpenError, PutItem, Store, User, migrator, violation,
    with_items,
};

const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../migrations/postgres/0001_init.sql"),
)];

/// A read-only transaction whose statements all see one snapshot.
const SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

pub(super) async fn connect(url: &str) -> Result<PgPool, OpenError> {
    let options = PgConnectOptions::from_str(url).map_err(OpenError::Connect)?;
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(OpenError::Connect)?;
    migrator(MIGRATIONS)
        .run(&pool)
        .await
        .map_err(OpenError::Migrate)?;
    Ok(pool)
}

fn user_row(row: &PgRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
    })
}

fn item_row(row: &PgRow) -> Result<Item, sqlx::Error> {
    Ok(Item {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        price: row.try_get("price")?,
        store_id: row.try_get("store_id")?,
    })
}

pub(super) async fn username_taken(pool: &PgPool, username: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

pub(super) async fn email_taken(pool: &PgPool, email_key: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = query_scalar("SELECT id FROM users WHERE email_key = $1")
        .bind(email_key)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

pub(super) async fn insert_user(
    pool: &PgPool,
    username: &str,
    email: &str,
    email_key: &str,
    password_hash: &str,
) -> Result<NewUser, sqlx::Error> {
    let inserted = query(
        "INSERT INTO users (username, email, email_key, password_hash) VALUES ($1, $2, $3, $4)",
    )
    .bind(username)
    .bind(email)
    .bind(email_key)
    .bind(password_hash)
    .execute(pool)
    .await;
    match inserted {
        Ok(_) => Ok(NewUser::Created),
        Err(error) if violation(&error) == Some(ErrorKind::UniqueViolation) => Ok(NewUser::Taken),
        Err(error) => Err(error),
    }
}

pub(super) async fn user(pool: &PgPool, id: i64) -> Result<Option<User>, sqlx::Error> {
    query("SELECT id, username, email FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(user_row)
        .transpose()
}

pub(super) async fn login(
    pool: &PgPool,
    email_key: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    let Some(row) =
        query("SELECT id, username, email, password_hash FROM users WHERE email_key = $1")
            .bind(email_key)
            .fetch_optional(pool)
            .await?
    else {
        return Ok(None);
    };
    Ok(Some((user_row(&row)?, row.try_get("password_hash")?)))
}

pub(super) async fn item(pool: &PgPool, name: &str) -> Result<Option<Item>, sqlx::Error> {
    query("SELECT id, name, price, store_id FROM items WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(item_row)
        .transpose()
}

pub(super) async fn items(pool: &PgPool) -> Result<Vec<Item>, sqlx::Error> {
    query("SELECT id, name, price, store_id FROM items ORDER BY id")
        .fetch_all(pool)
        .await?
        .iter()
        .map(item_row)
        .collect()
}

pub(super) async fn create_item(
    pool: &PgPool,
    name: &str,
    price: f64,
    store_id: i64,
) -> Result<CreateItem, sqlx::Error> {
    let inserted = query(
        "INSERT INTO items (name, price, store_id) VALUES ($1, $2, $3) \
         RETURNING id, name, price, store_id",
    )
    .bind(name)
    .bind(price)
    .bind(store_id)
    .fetch_one(pool)
    .await;
    match inserted {
        Ok(row) => Ok(CreateItem::Created(item_row(&row)?)),
        Err(error) => match violation(&error) {
            Some(ErrorKind::UniqueViolation) => Ok(CreateItem::NameTaken),
            // The contract puts a taken name before an unknown store, whichever constraint
            // the database checked first.
            Some(ErrorKind::ForeignKeyViolation) => Ok(if item(pool, name).await?.is_some() {
                CreateItem::NameTaken
            } else {
                CreateItem::NoStore
            }),
            _ => Err(error),
        },
    }
}

pub(super) async fn put_item(
    pool: &PgPool,
    name: &str,
    price: f64,
    store_id: i64,
) -> Result<PutItem, sqlx::Error> {
    // One statement: of many PUTs of one new name, one inserts and the others wait for it and
    // update. `xmax = 0` tells an inserted row from an updated one. An unknown store fails the
    // foreign key on both paths, so it is answered first.
    let upserted = query(
        "INSERT INTO items (name, price, store_id) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET price = EXCLUDED.price, store_id = EXCLUDED.store_id \
         RETURNING id, name, price, store_id, (xmax = 0) AS created",
    )
    .bind(name)
    .bind(price)
    .bind(store_id)
    .fetch_one(pool)
    .await;
    match upserted {
        Ok(row) => {
            let item = item_row(&row)?;
            Ok(if row.try_get("created")? {
                PutItem::Created(item)
            } else {
                PutItem::Updated(item)
            })
        }
        Err(error) if violation(&error) == Some(ErrorKind::ForeignKeyViolation) => {
            Ok(PutItem::NoStore)
        }
        Err(error) => Err(error),
    }
}

pub(super) async fn delete_item(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let deleted = query("DELETE FROM items WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

pub(super) async fn store(pool: &PgPool, name: &str) -> Result<Option<Store>, sqlx::Error> {
    // One snapshot for the store and its items.
    let mut tx = pool.begin_with(SNAPSHOT).await?;
    let Some(row) = query("SELECT id, name FROM stores WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let items =
        query("SELECT id, name, price, store_id FROM items WHERE store_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(item_row)
            .collect::<Result<_, _>>()?;
    tx.commit().await?;
    Ok(Some(Store {
        id,
        name: row.try_get("name")?,
        items,
    }))
}

pub(super) async fn stores(pool: &PgPool) -> Result<Vec<Store>, sqlx::Error> {
    let mut tx = pool.begin_with(SNAPSHOT).await?;
    let stores = query("SELECT id, name FROM stores ORDER BY id")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let items = query("SELECT id, name, price, store_id FROM items ORDER BY id")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(item_row)
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit().await?;
    Ok(with_items(stores, items))
}

pub(super) async fn create_store(pool: &PgPool, name: &str) -> Result<Option<Store>, sqlx::Error> {
    let inserted = query("INSERT INTO stores (name) VALUES ($1) RETURNING id, name")
        .bind(name)
        .fetch_one(pool)
        .await;
    match inserted {
        Ok(row) => Ok(Some(Store {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            items: Vec::new(),
        })),
        Err(error) if violation(&error) == Some(ErrorKind::UniqueViolation) => Ok(None),
        Err(error) => Err(error),
    }
}

pub(super) async fn delete_store(pool: &PgPool, name: &str) -> Result<DeleteStore, sqlx::Error> {
    // The foreign key refuses to delete a store that still has items.
    match query("DELETE FROM stores WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await
    {
        Ok(done) if done.rows_affected() > 0 => Ok(DeleteStore::Deleted),
        Ok(_) => Ok(DeleteStore::NotFound),
        Err(error) if violation(&error) == Some(ErrorKind::ForeignKeyViolation) => {
            Ok(DeleteStore::HasItems)
        }
        Err(error) => Err(error),
    }
}
