//! The SQLite backend: WAL, foreign keys on every connection, `BEGIN IMMEDIATE` for
//! read-then-write transactions (SQLite has one writer at a time, so they are serialized).

use std::str::FromStr;
use std::time::Duration;

use sqlx::error::ErrorKind;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool, query, query_scalar};

use super::{
    CreateItem, DeleteStore, Item, NewUser, OpenError, PutItem, Store, User, migrator, violation,
    with_items,
};

const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../migrations/sqlite/0001_init.sql"),
)];

pub(super) async fn connect(url: &str) -> Result<SqlitePool, OpenError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(OpenError::Connect)?
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        // Every answered write is on disk: a kill or a power loss after a 2xx loses nothing.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(OpenError::Connect)?;
    migrator(MIGRATIONS)
        .run(&pool)
        .await
        .map_err(OpenError::Migrate)?;
    Ok(pool)
}

fn user_row(row: &SqliteRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
    })
}

fn item_row(row: &SqliteRow) -> Result<Item, sqlx::Error> {
    Ok(Item {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        price: row.try_get("price")?,
        store_id: row.try_get("store_id")?,
    })
}

pub(super) async fn username_taken(pool: &SqlitePool, username: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = query_scalar("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

pub(super) async fn email_taken(pool: &SqlitePool, email_key: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = query_scalar("SELECT id FROM users WHERE email_key = ?")
        .bind(email_key)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

pub(super) async fn insert_user(
    pool: &SqlitePool,
    username: &str,
    email: &str,
    email_key: &str,
    password_hash: &str,
) -> Result<NewUser, sqlx::Error> {
    let inserted =
        query("INSERT INTO users (username, email, email_key, password_hash) VALUES (?, ?, ?, ?)")
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

pub(super) async fn user(pool: &SqlitePool, id: i64) -> Result<Option<User>, sqlx::Error> {
    query("SELECT id, username, email FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(user_row)
        .transpose()
}

pub(super) async fn login(
    pool: &SqlitePool,
    email_key: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    let Some(row) =
        query("SELECT id, username, email, password_hash FROM users WHERE email_key = ?")
            .bind(email_key)
            .fetch_optional(pool)
            .await?
    else {
        return Ok(None);
    };
    Ok(Some((user_row(&row)?, row.try_get("password_hash")?)))
}

pub(super) async fn item(pool: &SqlitePool, name: &str) -> Result<Option<Item>, sqlx::Error> {
    query("SELECT id, name, price, store_id FROM items WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(item_row)
        .transpose()
}

pub(super) async fn items(pool: &SqlitePool) -> Result<Vec<Item>, sqlx::Error> {
    query("SELECT id, name, price, store_id FROM items ORDER BY id")
        .fetch_all(pool)
        .await?
        .iter()
        .map(item_row)
        .collect()
}

pub(super) async fn create_item(
    pool: &SqlitePool,
    name: &str,
    price: f64,
    store_id: i64,
) -> Result<CreateItem, sqlx::Error> {
    let inserted = query(
        "INSERT INTO items (name, price, store_id) VALUES (?, ?, ?) \
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
    pool: &SqlitePool,
    name: &str,
    price: f64,
    store_id: i64,
) -> Result<PutItem, sqlx::Error> {
    // IMMEDIATE takes the write lock now: no other writer runs between the reads and the
    // write below, so of many PUTs of one new name exactly one creates it.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let store: Option<i64> = query_scalar("SELECT id FROM stores WHERE id = ?")
        .bind(store_id)
        .fetch_optional(&mut *tx)
        .await?;
    if store.is_none() {
        tx.rollback().await?;
        return Ok(PutItem::NoStore);
    }
    let updated = query(
        "UPDATE items SET price = ?, store_id = ? WHERE name = ? \
         RETURNING id, name, price, store_id",
    )
    .bind(price)
    .bind(store_id)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let outcome = match updated {
        Some(row) => PutItem::Updated(item_row(&row)?),
        None => {
            let row = query(
                "INSERT INTO items (name, price, store_id) VALUES (?, ?, ?) \
                 RETURNING id, name, price, store_id",
            )
            .bind(name)
            .bind(price)
            .bind(store_id)
            .fetch_one(&mut *tx)
            .await?;
            PutItem::Created(item_row(&row)?)
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

pub(super) async fn delete_item(pool: &SqlitePool, name: &str) -> Result<bool, sqlx::Error> {
    let deleted = query("DELETE FROM items WHERE name = ?")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

pub(super) async fn store(pool: &SqlitePool, name: &str) -> Result<Option<Store>, sqlx::Error> {
    // One read transaction: the store and its items come from one snapshot.
    let mut tx = pool.begin().await?;
    let Some(row) = query("SELECT id, name FROM stores WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let items = query("SELECT id, name, price, store_id FROM items WHERE store_id = ? ORDER BY id")
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

pub(super) async fn stores(pool: &SqlitePool) -> Result<Vec<Store>, sqlx::Error> {
    let mut tx = pool.begin().await?;
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

pub(super) async fn create_store(
    pool: &SqlitePool,
    name: &str,
) -> Result<Option<Store>, sqlx::Error> {
    let inserted = query("INSERT INTO stores (name) VALUES (?) RETURNING id, name")
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

pub(super) async fn delete_store(
    pool: &SqlitePool,
    name: &str,
) -> Result<DeleteStore, sqlx::Error> {
    // The foreign key refuses to delete a store that still has items.
    match query("DELETE FROM stores WHERE name = ?")
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
