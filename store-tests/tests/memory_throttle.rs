//! The throttle conformance suite against jwt-gate's own `MemoryThrottleStore`.

store_tests::throttle_store_tests!(async { jwt_gate::MemoryThrottleStore::new() });
