//! Encoding, decoding and validation of compact JWS tokens: with `keys`, the only module that
//! touches the JWT crate.
//!
//! Signing with a key pair is jsonwebtoken's (`crypto::sign`, aws-lc-rs backend). HMAC signing
//! and every verification use aws-lc-rs keys prepared once when the keys are built, because
//! jsonwebtoken's `crypto::sign` and `crypto::verify` prepare the key again on every call (for
//! HMAC two extra SHA-2 compressions, a quarter of an HS256 issue; for RSA and EC a public-key
//! parse per verification). The parsing around them is written here because Flask-JWT's
//! contract fixes an order of checks and a message for each (PyJWT 1.4.2's), and because
//! jwt-gate is stricter than jsonwebtoken's `decode`: canonical base64url only, no duplicate
//! JSON members, bounded size and depth, `crit` refused, and the algorithm read from the
//! configuration only.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{JwtConfig, REQUIRABLE_CLAIMS};
use crate::error::{JwtError, TokenError};
use crate::json::{JsonError, Members, parse_strict_object};
use crate::keys::{Keys, RingKey, Verifier};

/// The claims of a token that passed every check, with its time claims read as PyJWT reads
/// them (`int()` of a JSON number).
#[derive(Debug)]
pub(crate) struct Verified<P = Map<String, Value>> {
    pub(crate) payload: P,
    pub(crate) exp: Option<i64>,
    pub(crate) iat: Option<i64>,
    pub(crate) nbf: Option<i64>,
    /// When the key that verified the token retires (Unix seconds): a cached outcome must not
    /// outlive it.
    pub(crate) key_retires_at: Option<i64>,
}

/// Signs `payload` with the signing key of `keys`, under the header
/// `{"typ":"JWT","alg":<alg>}` (plus `kid` unless the ring is one HMAC secret without one)
/// and `extra_header`.
///
/// `alg`, `kid` and `crit` in `extra_header` cannot override the ring's: the algorithm and
/// `kid` are the key's, and a `crit` header would make the token unverifiable by jwt-gate
/// itself. (A single HMAC secret keeps Flask-JWT's freedom to set a `kid` header.)
pub(crate) fn encode(
    keys: &Keys,
    extra_header: Option<&Map<String, Value>>,
    payload: &impl Serialize,
) -> Result<String, JwtError> {
    let entry = keys
        .signing_entry()
        .ok_or_else(|| JwtError::internal("these keys only verify: no key can sign a token"))?;
    let key = &entry.key;
    let mut token = match extra_header {
        Some(extra) if !extra.is_empty() => {
            let mut header = extra.clone();
            header.remove("crit");
            header.entry("typ").or_insert_with(|| Value::from("JWT"));
            header.insert("alg".to_owned(), Value::from(key.algorithm().as_str()));
            if let (false, Some(kid)) = (keys.flask_header(), key.kid()) {
                header.insert("kid".to_owned(), Value::from(kid));
            }
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(JwtError::internal)?)
        }
        _ => entry.own_header.clone(),
    };
    let payload = serde_json::to_vec(payload).map_err(JwtError::internal)?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signer = key
        .signer()
        .ok_or_else(|| JwtError::internal("the signing key has no private half"))?;
    if let Verifier::Hmac(prepared) = key.verifier() {
        // The same key as jsonwebtoken's, prepared once (see the module doc).
        let tag = aws_lc_rs::hmac::sign(prepared, token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
        return Ok(token);
    }
    let signature = crypto::sign(token.as_bytes(), signer, key.algorithm().jsonwebtoken())
        .map_err(JwtError::internal)?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// The three segments of a compact JWS, and the signing input (`header.payload`).
struct Segments<'a> {
    signing_input: &'a str,
    header: &'a str,
    payload: &'a str,
    crypto: &'a str,
}

impl<'a> Segments<'a> {
    /// The size limit, then PyJWT's split: `rsplit('.', 1)` then `split('.', 1)`, so that a
    /// fourth segment lands in the payload segment and fails its base64 check.
    fn split(token: &'a str, config: &JwtConfig) -> Result<Self, TokenError> {
        if token.len() > config.max_token_bytes {
            return Err(TokenError::TooLarge);
        }
        let (signing_input, crypto) = token
            .rsplit_once('.')
            .ok_or(TokenError::NotEnoughSegments)?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(TokenError::NotEnoughSegments)?;
        Ok(Self {
            signing_input,
            header,
            payload,
            crypto,
        })
    }
}

/// Decodes and validates `token` in PyJWT 1.4.2's order: segments, header, payload and
/// signature encodings, key (`kid`) and `alg`, signature, payload JSON, required claims, then
/// `iat`, `nbf`, `exp`, `aud`, `iss` and `sub`. `now` is Unix seconds.
pub(crate) fn decode<P: Members + ClaimSet + Default>(
    token: &str,
    keys: &Keys,
    config: &JwtConfig,
    now: i64,
) -> Result<Verified<P>, TokenError> {
    let Segments {
        signing_input,
        header: header_segment,
        payload: payload_segment,
        crypto: crypto_segment,
    } = Segments::split(token, config)?;

    // Fast path: a header jwt-gate itself issues is known to be valid, with its key's `alg`
    // and `kid` and no `crit`; anything else is decoded and checked in full.
    let own_key = keys
        .entries()
        .iter()
        .find(|entry| entry.own_header == header_segment);
    let header = if own_key.is_some() {
        None
    } else {
        let header_bytes = URL_SAFE_NO_PAD
            .decode(header_segment)
            .map_err(|_| TokenError::InvalidHeaderPadding)?;
        Some(json_object(
            &header_bytes,
            config,
            TokenError::InvalidHeaderString,
        )?)
    };
    let payload_bytes = URL_SAFE_NO_PAD
        .decode(payload_segment)
        .map_err(|_| TokenError::InvalidPayloadPadding)?;
    let signature = URL_SAFE_NO_PAD
        .decode(crypto_segment)
        .map_err(|_| TokenError::InvalidCryptoPadding)?;

    let entry = match (own_key, header) {
        (Some(entry), _) => entry,
        (None, Some(header)) => key_for(keys, &header)?,
        (None, None) => return Err(TokenError::UnknownKeyId),
    };
    if entry.retire_at.is_some_and(|retire_at| retire_at <= now) {
        return Err(TokenError::UnknownKeyId);
    }
    if !entry
        .key
        .verifier()
        .verify(signing_input.as_bytes(), &signature)
    {
        return Err(TokenError::SignatureInvalid);
    }

    let payload: P = json_object(&payload_bytes, config, TokenError::InvalidPayloadString)?;
    let mut verified = validate_claims(payload, config, now)?;
    verified.key_retires_at = entry.retire_at;
    Ok(verified)
}

/// Splits and decodes `token` without verifying anything: the segment and JSON rules of
/// [`decode`], in its order.
pub(crate) fn decode_unverified(
    token: &str,
    config: &JwtConfig,
) -> Result<crate::codec::Unverified, TokenError> {
    let segments = Segments::split(token, config)?;
    let header = URL_SAFE_NO_PAD
        .decode(segments.header)
        .map_err(|_| TokenError::InvalidHeaderPadding)?;
    let header = json_object(&header, config, TokenError::InvalidHeaderString)?;
    let payload = URL_SAFE_NO_PAD
        .decode(segments.payload)
        .map_err(|_| TokenError::InvalidPayloadPadding)?;
    URL_SAFE_NO_PAD
        .decode(segments.crypto)
        .map_err(|_| TokenError::InvalidCryptoPadding)?;
    let claims = json_object(&payload, config, TokenError::InvalidPayloadString)?;
    Ok(crate::codec::Unverified { header, claims })
}

/// A JSON object under the strict rules, or the error `invalid` makes of the reason.
fn json_object<O: Members + Default>(
    bytes: &[u8],
    config: &JwtConfig,
    invalid: fn(String) -> TokenError,
) -> Result<O, TokenError> {
    let mut object = O::default();
    match parse_strict_object(bytes, config.max_json_depth, &mut object) {
        Ok(true) => Ok(object),
        Ok(false) => Err(invalid("must be a json object".to_owned())),
        Err(JsonError::TooDeep) => Err(TokenError::TooDeeplyNested),
        Err(JsonError::Syntax(detail)) => Err(invalid(detail)),
    }
}

/// The claims of a payload, by name: a plain map, or the [`Payload`](crate::claims::Payload)
/// that [`Claims`](crate::Claims) are made of.
pub(crate) trait ClaimSet {
    /// How many claims there are.
    fn len(&self) -> usize;
    /// The claim `name`, if present.
    fn get(&self, name: &str) -> Option<&Value>;
}

impl ClaimSet for Map<String, Value> {
    fn len(&self) -> usize {
        Self::len(self)
    }

    fn get(&self, name: &str) -> Option<&Value> {
        Self::get(self, name)
    }
}

/// The key a token's header names, after its checks: the `kid` (unless the ring is one HMAC
/// secret, whose tokens Flask-JWT never gave one), then `alg`, which must be that key's (the
/// algorithm comes from the key, never from the header: the header may only agree), then
/// `crit`.
fn key_for<'k>(keys: &'k Keys, header: &Map<String, Value>) -> Result<&'k RingKey, TokenError> {
    let entry = if keys.flask_header() {
        &keys.entries()[0]
    } else {
        match header.get("kid") {
            None => return Err(TokenError::MissingKeyId),
            Some(Value::String(kid)) => keys.by_kid(kid).ok_or(TokenError::UnknownKeyId)?,
            Some(_) => return Err(TokenError::UnknownKeyId),
        }
    };
    if header.get("alg").and_then(Value::as_str) != Some(entry.key.algorithm().as_str()) {
        return Err(TokenError::AlgorithmNotAllowed);
    }
    if header.contains_key("crit") {
        return Err(TokenError::UnsupportedCriticalHeader);
    }
    Ok(entry)
}

fn validate_claims<P: ClaimSet>(
    payload: P,
    config: &JwtConfig,
    now: i64,
) -> Result<Verified<P>, TokenError> {
    if payload.len() > config.max_claims {
        return Err(TokenError::TooManyClaims);
    }
    // The first missing claim in the order of `REQUIRABLE_CLAIMS`, looked for among the
    // configured ones only (on every request: a few lookups, not one per requirable claim).
    let first_missing = config
        .required_claims
        .iter()
        .filter(|claim| payload.get(claim).is_none_or(Value::is_null))
        .filter_map(|claim| REQUIRABLE_CLAIMS.iter().position(|c| c == claim))
        .min();
    if let Some(position) = first_missing {
        return Err(TokenError::MissingClaim(REQUIRABLE_CLAIMS[position]));
    }
    let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
    // PyJWT reads each time claim just before checking it: a malformed `nbf` after a future
    // `iat` is reported as the `iat`.
    let iat = numeric_date(&payload, "iat", TokenError::IatNotInteger)?;
    check_times(iat, None, None, now, leeway)?;
    let nbf = numeric_date(&payload, "nbf", TokenError::NbfNotInteger)?;
    check_times(None, nbf, None, now, leeway)?;
    let exp = numeric_date(&payload, "exp", TokenError::ExpNotInteger)?;
    check_times(None, None, exp, now, leeway)?;
    check_audience(payload.get("aud"), &config.audience)?;
    if let Some(issuer) = &config.issuer
        && payload.get("iss").and_then(Value::as_str) != Some(issuer)
    {
        return Err(TokenError::InvalidIssuer);
    }
    if let Some(subject) = &config.subject
        && payload.get("sub").and_then(Value::as_str) != Some(subject)
    {
        return Err(TokenError::InvalidSubject);
    }
    Ok(Verified {
        payload,
        exp,
        iat,
        nbf,
        key_retires_at: None,
    })
}

/// PyJWT's audience rule: `aud` is a string or a list of strings, and must name one of the
/// `accepted` audiences. Flask-JWT configures none, so there any `aud` fails; with audiences
/// configured, a token without `aud` fails too.
fn check_audience(aud: Option<&Value>, accepted: &[String]) -> Result<(), TokenError> {
    let named: Vec<&str> = match aud {
        None if accepted.is_empty() => return Ok(()),
        None => return Err(TokenError::InvalidAudience),
        Some(Value::String(one)) => vec![one],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or(TokenError::InvalidClaimFormat))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(TokenError::InvalidClaimFormat),
    };
    if named
        .iter()
        .any(|name| accepted.iter().any(|audience| audience == name))
    {
        Ok(())
    } else {
        Err(TokenError::InvalidAudience)
    }
}

/// The time rules, in PyJWT's order: `iat` and `nbf` no later than `now + leeway`, `exp` no
/// earlier than `now - leeway`. Shared by decoding and by the verified-token cache, which must
/// re-check them on every hit.
pub(crate) fn check_times(
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: Option<i64>,
    now: i64,
    leeway: i64,
) -> Result<(), TokenError> {
    if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(TokenError::IatInFuture);
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(TokenError::NotYetValid);
    }
    if exp.is_some_and(|exp| exp < now.saturating_sub(leeway)) {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// A time claim as PyJWT's `int()` reads a JSON number: fractions truncated toward zero, and
/// numbers beyond `i64` saturated (far future or far past, never an overflow). Anything that is
/// not a JSON number (strings, booleans, `null`, arrays, objects) is refused, where PyJWT
/// accepted numeric strings and booleans and crashed on the rest.
fn numeric_date(
    payload: &impl ClaimSet,
    claim: &str,
    not_integer: TokenError,
) -> Result<Option<i64>, TokenError> {
    let Some(value) = payload.get(claim) else {
        return Ok(None);
    };
    let Value::Number(number) = value else {
        return Err(not_integer);
    };
    let seconds = if let Some(i) = number.as_i64() {
        i
    } else if number.as_u64().is_some() {
        i64::MAX
    } else {
        // `as` saturates at the i64 bounds, which is the intent.
        number.as_f64().map_or(0, |f| f.trunc() as i64)
    };
    Ok(Some(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_700_000_000;

    fn keys() -> Keys {
        Keys::hs256(SECRET).unwrap()
    }

    fn sign(header: &Value, payload: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap());
        sign_raw(&header, &payload)
    }

    fn sign_raw(header: &str, payload: &str) -> String {
        let input = format!("{header}.{payload}");
        let keys = keys();
        let key = keys.signing_key().unwrap();
        let signature = crypto::sign(
            input.as_bytes(),
            key.signer().unwrap(),
            key.algorithm().jsonwebtoken(),
        )
        .unwrap();
        format!("{input}.{signature}")
    }

    fn claims() -> Value {
        json!({"identity": 1, "iat": NOW, "nbf": NOW, "exp": NOW + 300})
    }

    fn check(token: &str) -> Result<Verified, TokenError> {
        decode(token, &keys(), &JwtConfig::default(), NOW)
    }

    fn hs256() -> Value {
        json!({"typ": "JWT", "alg": "HS256"})
    }

    #[test]
    fn round_trip() {
        let token = encode(&keys(), None, &claims()).unwrap();
        let header = token.split('.').next().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).unwrap(),
            br#"{"typ":"JWT","alg":"HS256"}"#
        );
        let verified = check(&token).unwrap();
        assert_eq!(verified.exp, Some(NOW + 300));
        assert_eq!(verified.payload["identity"], 1);
    }

    #[test]
    fn hmac_signatures_are_jsonwebtoken_s() {
        for keys in [
            Keys::hs256(SECRET).unwrap(),
            Keys::hs384(SECRET).unwrap(),
            Keys::hs512(SECRET).unwrap(),
        ] {
            let token = encode(&keys, None, &claims()).unwrap();
            let (input, signature) = token.rsplit_once('.').unwrap();
            let key = keys.signing_key().unwrap();
            let theirs = crypto::sign(
                input.as_bytes(),
                key.signer().unwrap(),
                key.algorithm().jsonwebtoken(),
            )
            .unwrap();
            assert_eq!(signature, theirs, "{:?}", key.algorithm());
        }
    }

    #[test]
    fn extra_header_fields_cannot_change_alg() {
        let extra = json!({"kid": "k1", "alg": "none"});
        let token = encode(&keys(), extra.as_object(), &claims()).unwrap();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header, json!({"typ": "JWT", "alg": "HS256", "kid": "k1"}));
        assert!(check(&token).is_ok());
    }

    #[test]
    fn segment_errors_follow_pyjwt_order() {
        assert_eq!(check("abc").unwrap_err(), TokenError::NotEnoughSegments);
        assert_eq!(check("a.b").unwrap_err(), TokenError::NotEnoughSegments);
        assert_eq!(
            check("!!.e30.e30").unwrap_err(),
            TokenError::InvalidHeaderPadding
        );
        assert!(matches!(
            check("bm90IGpzb24.e30.e30").unwrap_err(),
            TokenError::InvalidHeaderString(_)
        ));
        assert_eq!(
            check("W10.e30.e30").unwrap_err(),
            TokenError::InvalidHeaderString("must be a json object".into())
        );
        let token = sign(&hs256(), &claims());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(
            check(&format!("{}.{}=.{}", parts[0], parts[1], parts[2])).unwrap_err(),
            TokenError::InvalidPayloadPadding
        );
        assert_eq!(
            check(&format!("{}.{}.{}=", parts[0], parts[1], parts[2])).unwrap_err(),
            TokenError::InvalidCryptoPadding
        );
        assert_eq!(
            check(&format!("{token}.x")).unwrap_err(),
            TokenError::InvalidPayloadPadding
        );
    }

    #[test]
    fn non_canonical_base64_is_refused() {
        let token = sign(&hs256(), &claims());
        let (header, rest) = token.split_once('.').unwrap();
        // Padding, the standard alphabet, and non-zero trailing bits.
        assert_eq!(
            check(&format!("{header}=.{rest}")).unwrap_err(),
            TokenError::InvalidHeaderPadding
        );
        let plus = header.replace('-', "+").replace('_', "/");
        if plus != header {
            assert_eq!(
                check(&format!("{plus}.{rest}")).unwrap_err(),
                TokenError::InvalidHeaderPadding
            );
        }
        let signature = token.rsplit('.').next().unwrap();
        let mut tweaked = signature.to_owned();
        let last = tweaked.pop().unwrap();
        // A 32-byte HMAC leaves 2 unused bits in the last character: set one.
        let idx = base64::alphabet::URL_SAFE.as_str().find(last).unwrap();
        let bumped = base64::alphabet::URL_SAFE.as_str().as_bytes()[idx | 1] as char;
        if bumped != last {
            tweaked.push(bumped);
            let body = &token[..token.len() - signature.len()];
            assert_eq!(
                check(&format!("{body}{tweaked}")).unwrap_err(),
                TokenError::InvalidCryptoPadding
            );
        }
    }

    #[test]
    fn the_algorithm_is_pinned() {
        for alg in [
            json!("none"),
            json!("HS512"),
            json!("RS256"),
            json!(null),
            json!(["HS256"]),
        ] {
            let token = sign(&json!({"alg": alg, "typ": "JWT"}), &claims());
            assert_eq!(
                check(&token).unwrap_err(),
                TokenError::AlgorithmNotAllowed,
                "{alg}"
            );
        }
        let no_alg = sign(&json!({"typ": "JWT"}), &claims());
        assert_eq!(check(&no_alg).unwrap_err(), TokenError::AlgorithmNotAllowed);
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap())
        );
        assert_eq!(
            check(&unsigned).unwrap_err(),
            TokenError::AlgorithmNotAllowed
        );
    }

    #[test]
    fn crit_and_duplicate_alg_are_refused() {
        let token = sign(&json!({"alg": "HS256", "crit": []}), &claims());
        assert_eq!(
            check(&token).unwrap_err(),
            TokenError::UnsupportedCriticalHeader
        );
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        let error = check(&sign_raw(&header, &payload)).unwrap_err();
        assert!(
            error.to_string().starts_with("Invalid header string: "),
            "{error}"
        );
        let payload = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"identity":1,"identity":2,"iat":{NOW},"nbf":{NOW},"exp":{}}}"#,
                NOW + 9
            )
            .as_bytes(),
        );
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
        let error = check(&sign_raw(&header, &payload)).unwrap_err();
        assert!(
            error.to_string().starts_with("Invalid payload string: "),
            "{error}"
        );
    }

    #[test]
    fn signature_is_checked_before_the_payload() {
        let token = sign(&hs256(), &claims());
        let other = Keys::hs256("another secret that is long enough!!").unwrap();
        assert_eq!(
            decode::<Map<String, Value>>(&token, &other, &JwtConfig::default(), NOW).unwrap_err(),
            TokenError::SignatureInvalid
        );
        let garbage = format!(
            "{}.{}.{}",
            token.split('.').next().unwrap(),
            URL_SAFE_NO_PAD.encode(b"not json"),
            token.rsplit('.').next().unwrap()
        );
        assert_eq!(check(&garbage).unwrap_err(), TokenError::SignatureInvalid);
        let not_json = sign_raw(
            token.split('.').next().unwrap(),
            &URL_SAFE_NO_PAD.encode(b"not json"),
        );
        assert!(
            check(&not_json)
                .unwrap_err()
                .to_string()
                .starts_with("Invalid payload string: ")
        );
        let array = sign(&hs256(), &json!([1]));
        assert_eq!(
            check(&array).unwrap_err(),
            TokenError::InvalidPayloadString("must be a json object".into())
        );
    }

    #[test]
    fn required_claims_in_order() {
        let token = sign(&hs256(), &json!({"identity": 1}));
        assert_eq!(check(&token).unwrap_err(), TokenError::MissingClaim("exp"));
        let token = sign(&hs256(), &json!({"exp": NOW + 5, "nbf": NOW}));
        assert_eq!(check(&token).unwrap_err(), TokenError::MissingClaim("iat"));
        let token = sign(&hs256(), &json!({"exp": NOW + 5, "iat": NOW, "nbf": null}));
        assert_eq!(check(&token).unwrap_err(), TokenError::MissingClaim("nbf"));
        let config = JwtConfig {
            required_claims: vec!["exp".into()],
            ..JwtConfig::default()
        };
        let token = sign(&hs256(), &json!({"exp": NOW + 5}));
        assert!(decode::<Map<String, Value>>(&token, &keys(), &config, NOW).is_ok());
    }

    #[test]
    fn time_rules_with_leeway() {
        let at = |iat: i64, nbf: i64, exp: i64| {
            check(&sign(
                &hs256(),
                &json!({"iat": iat, "nbf": nbf, "exp": exp}),
            ))
        };
        assert!(at(NOW + 10, NOW, NOW + 1).is_ok());
        assert_eq!(
            at(NOW + 11, NOW, NOW + 20).unwrap_err(),
            TokenError::IatInFuture
        );
        assert!(at(NOW, NOW + 10, NOW + 20).is_ok());
        assert_eq!(
            at(NOW, NOW + 11, NOW + 20).unwrap_err(),
            TokenError::NotYetValid
        );
        assert!(at(NOW - 100, NOW - 100, NOW - 10).is_ok());
        assert_eq!(
            at(NOW - 100, NOW - 100, NOW - 11).unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn time_claims_must_be_numbers() {
        for bad in [
            json!("123"),
            json!(true),
            json!([1]),
            json!({"a": 1}),
            json!("x"),
        ] {
            let token = sign(&hs256(), &json!({"iat": NOW, "nbf": NOW, "exp": bad}));
            assert_eq!(
                check(&token).unwrap_err(),
                TokenError::ExpNotInteger,
                "{bad}"
            );
            let token = sign(&hs256(), &json!({"iat": bad, "nbf": NOW, "exp": NOW}));
            assert_eq!(
                check(&token).unwrap_err(),
                TokenError::IatNotInteger,
                "{bad}"
            );
            let token = sign(&hs256(), &json!({"iat": NOW, "nbf": bad, "exp": NOW}));
            assert_eq!(
                check(&token).unwrap_err(),
                TokenError::NbfNotInteger,
                "{bad}"
            );
        }
    }

    #[test]
    fn fractions_truncate_and_huge_numbers_saturate() {
        let token = sign(
            &hs256(),
            &json!({"iat": NOW as f64 + 0.9, "nbf": NOW, "exp": 1e300}),
        );
        let verified = check(&token).unwrap();
        assert_eq!(verified.iat, Some(NOW));
        assert_eq!(verified.exp, Some(i64::MAX));
        let token = sign(&hs256(), &json!({"iat": NOW, "nbf": NOW, "exp": u64::MAX}));
        assert!(check(&token).is_ok());
        let token = sign(&hs256(), &json!({"iat": NOW, "nbf": NOW, "exp": -1e300}));
        assert_eq!(check(&token).unwrap_err(), TokenError::Expired);
        let token = sign(
            &hs256(),
            &json!({"iat": -1e300, "nbf": i64::MIN, "exp": NOW}),
        );
        assert!(check(&token).is_ok());
    }

    #[test]
    fn any_audience_is_refused() {
        let with = |aud: Value| {
            let mut c = claims();
            c["aud"] = aud;
            check(&sign(&hs256(), &c))
        };
        assert_eq!(with(json!("api")).unwrap_err(), TokenError::InvalidAudience);
        assert_eq!(
            with(json!(["a", "b"])).unwrap_err(),
            TokenError::InvalidAudience
        );
        assert_eq!(with(json!(5)).unwrap_err(), TokenError::InvalidClaimFormat);
        assert_eq!(
            with(json!(["a", 1])).unwrap_err(),
            TokenError::InvalidClaimFormat
        );
    }

    #[test]
    fn size_and_depth_limits() {
        let big = "a".repeat(JwtConfig::default().max_token_bytes + 1);
        assert_eq!(check(&big).unwrap_err(), TokenError::TooLarge);
        let mut c = claims();
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!([deep]);
        }
        c["deep"] = deep;
        assert_eq!(
            check(&sign(&hs256(), &c)).unwrap_err(),
            TokenError::TooDeeplyNested
        );
        let deep_header = format!("{}{}", "[".repeat(40), "]".repeat(40));
        let token = format!(
            "{}.e30.e30",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":{deep_header}}}"#))
        );
        assert_eq!(check(&token).unwrap_err(), TokenError::TooDeeplyNested);
    }

    #[test]
    fn too_many_claims() {
        let mut c = claims();
        // Four claims plus 61: one over the default limit of 64.
        for i in 0..61 {
            c[format!("c{i}")] = json!(i);
        }
        assert_eq!(
            check(&sign(&hs256(), &c)).unwrap_err(),
            TokenError::TooManyClaims
        );
        c.as_object_mut().unwrap().remove("c0");
        assert!(check(&sign(&hs256(), &c)).is_ok());
    }

    #[test]
    fn unverified_decoding_checks_only_the_shape() {
        let config = JwtConfig::default();
        let token = sign(&hs256(), &claims());
        let (body, _) = token.rsplit_once('.').unwrap();
        let unsigned = decode_unverified(&format!("{body}.AAAA"), &config).unwrap();
        assert_eq!(unsigned.claims["identity"], 1);
        assert_eq!(unsigned.header["alg"], "HS256");
        assert_eq!(
            decode_unverified("abc", &config).unwrap_err(),
            TokenError::NotEnoughSegments
        );
        assert_eq!(
            decode_unverified(&format!("{body}.A="), &config).unwrap_err(),
            TokenError::InvalidCryptoPadding
        );
        let duplicate = URL_SAFE_NO_PAD.encode(br#"{"a":1,"a":2}"#);
        let error = decode_unverified(&format!("e30.{duplicate}.AAAA"), &config).unwrap_err();
        assert!(
            matches!(error, TokenError::InvalidPayloadString(_)),
            "{error}"
        );
    }

    #[test]
    fn unknown_claims_and_header_fields_are_ignored() {
        let mut c = claims();
        c["jti"] = json!("x");
        c["sub"] = json!({"nested": [1, 2]});
        let token = sign(
            &json!({"alg": "HS256", "kid": "whatever", "jku": "http://evil", "x5u": "http://evil", "jwk": {}}),
            &c,
        );
        assert!(check(&token).is_ok());
    }

    /// The claims path reads payloads into a `Payload` rather than a map: the same tokens pass
    /// and fail, with the same errors, and the same claims come out.
    #[test]
    fn both_payload_shapes_decide_alike() {
        use crate::claims::Payload;
        let config = JwtConfig {
            required_claims: vec!["exp".into(), "iat".into(), "nbf".into(), "jti".into()],
            max_claims: 6,
            max_json_depth: 3,
            ..JwtConfig::default()
        };
        let payloads = [
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a"}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1600000000,"jti":"a"}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":"soon","jti":"a"}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":null}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a","jti":"b"}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a","x":1,"x":2}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a","x":[[[1]]]}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a","x":[[1]]}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a","x":1,"y":2}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a","aud":"x"}"#,
            r#"{"ident\u0069ty":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a","x\u0069":1}"#,
            r#"{"identity":1,"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"a","\u0078":1,"x":2}"#,
            r#"{"identity":1,"iat":1700000000.9,"nbf":-1e400,"exp":1e400,"jti":"a"}"#,
            r#"[{"identity":1}]"#,
            r#"[[[[1]]]]"#,
            r#""text""#,
            r#"{"identity":1} {}"#,
            r#"{"identity":1,"#,
            "",
        ];
        let mut passed = 0;
        for payload in payloads {
            let token = sign_raw(
                "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
                &URL_SAFE_NO_PAD.encode(payload),
            );
            let as_map = decode::<Map<String, Value>>(&token, &keys(), &config, NOW);
            let as_payload = decode::<Payload>(&token, &keys(), &config, NOW);
            match (&as_map, &as_payload) {
                (Ok(map), Ok(payload)) => {
                    assert_eq!(
                        (map.exp, map.iat, map.nbf),
                        (payload.exp, payload.iat, payload.nbf)
                    );
                    assert_eq!(
                        map.payload.len(),
                        ClaimSet::len(&payload.payload),
                        "{payload:?}"
                    );
                    for (name, value) in &map.payload {
                        assert_eq!(ClaimSet::get(&payload.payload, name), Some(value), "{name}");
                    }
                    passed += 1;
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{payload}"),
                _ => panic!("{payload}: {as_map:?} / {as_payload:?}"),
            }
        }
        assert_eq!(passed, 3, "the valid payloads of the list");
    }
}
