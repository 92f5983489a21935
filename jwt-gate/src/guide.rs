//! The guide: migrating to jwt-gate, testing with it, and running it.
//!
//! Documentation only; every code block in it is compiled and run as a test.
//!
//! - **From Flask-JWT**: the mapping of every setting and hook, and the tutorial's
//!   configuration side by side with its Python, are on the
//!   [crate page](crate#flask-jwt--jwt-gate).
//! - **From Flask-JWT-Extended**: [`flask_jwt_extended`], every decorator, function and
//!   setting, and a whole FJE-style application.
#![cfg_attr(
    feature = "test-kit",
    doc = "- **Testing**: [`testing`], the test kit: tokens of every kind, a test clock, \
           requests without a server."
)]
#![cfg_attr(
    not(feature = "test-kit"),
    doc = "- **Testing**: the test kit's page, in documentation built with the `test-kit` \
           feature."
)]
//! - **Keys**: [`keys`], key pairs (RS/PS/ES/EdDSA), rotation without a restart, a published
//!   JWKS, services that only verify, issuer and audience.
//! - **Operating**: [`operating`], serving, logs, metrics, stores, login throttling.
//! - **Security defaults**: every default, what it protects against and how to change it, on
//!   the [crate page](crate#security-defaults).

#[doc = include_str!("docs/from_flask_jwt_extended.md")]
pub mod flask_jwt_extended {}

#[cfg(feature = "test-kit")]
#[doc = include_str!("docs/testing.md")]
pub mod testing {}

#[doc = include_str!("docs/operating.md")]
pub mod operating {}

#[doc = include_str!("docs/keys.md")]
pub mod keys {}
