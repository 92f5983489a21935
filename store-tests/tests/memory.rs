//! The conformance suite against jwt-gate's own `MemoryStore`.

store_tests::revocation_store_tests!(async { jwt_gate::MemoryStore::new() });
