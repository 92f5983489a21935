//! Arbitrary bytes as a token: `Jwt::verify` never panics, and every refusal is a 4xx.
//!
//! The seeds include a token that is valid at the fixed clock, so the fuzzer starts from the
//! deepest path; any token it accepts must carry the claims that validation promises.

#![no_main]

use jwt_gate_fuzz::{NOW, assert_client_error, jwt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let jwt = jwt();
    let lossy = String::from_utf8_lossy(data);
    match jwt.verify(&lossy) {
        Err(error) => assert_client_error(jwt, &error),
        Ok(claims) => {
            // Only a token signed under the secret gets here (the seeds'): three segments,
            // within the size limit, with every required claim and its time rules met.
            assert!(lossy.len() <= 8 * 1024);
            assert_eq!(lossy.matches('.').count(), 2, "{lossy}");
            let (iat, nbf, exp) = (
                claims.iat.unwrap(),
                claims.nbf.unwrap(),
                claims.exp.unwrap(),
            );
            assert!(
                iat <= NOW + 10 && nbf <= NOW + 10 && exp >= NOW - 10,
                "{claims:?}"
            );
            // Verifying again gives the same claims.
            assert_eq!(jwt.verify(&lossy).ok(), Some(claims));
        }
    }
});
