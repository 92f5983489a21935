//! The [`Identity`] trait that the application's user type implements.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A user that can be put into a token and found again from it.
///
/// Flask-JWT took the `identity` claim from the user's `id` attribute; here the user type says
/// what its id is. The id goes into the token's `identity` claim, and a token whose `identity`
/// does not deserialize as [`Identity::Id`] (a string or `true` for an integer id, an integer
/// out of range) names no user: 401 `Invalid JWT` / `User does not exist`.
///
/// ```
/// use jwt_gate::Identity;
///
/// #[derive(Clone)]
/// struct User { id: i64, username: String }
///
/// impl Identity for User {
///     type Id = i64;
///     fn id(&self) -> i64 { self.id }
/// }
/// ```
pub trait Identity: Clone + Send + Sync + 'static {
    /// The id type written to the `identity` claim: usually `i64`, `u64`, `String` or a UUID.
    type Id: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static;

    /// The id of this user.
    fn id(&self) -> Self::Id;
}
