//! Just enough DER to find the algorithm of a PKCS#8 or SubjectPublicKeyInfo document and the
//! key inside it. aws-lc-rs does the real parsing and validation of every key; this only
//! routes the bytes to the right aws-lc-rs parser and reads the public components it does not
//! hand out (an EC point, an RSA modulus bit length), and writes the one structure a JWK needs
//! (a PKCS#1 `RSAPublicKey`). Hand-written because no maintained crate of the field does this
//! small part without bringing a second crypto stack.

/// DER tags used here (universal, single byte).
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;

/// Object identifiers, as the content octets of their DER encoding.
pub(crate) mod oid {
    /// rsaEncryption, 1.2.840.113549.1.1.1.
    pub(crate) const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// id-RSASSA-PSS, 1.2.840.113549.1.1.10.
    pub(crate) const RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    /// id-ecPublicKey, 1.2.840.10045.2.1.
    pub(crate) const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// prime256v1 (P-256), 1.2.840.10045.3.1.7.
    pub(crate) const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// secp384r1 (P-384), 1.3.132.0.34.
    pub(crate) const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// secp521r1 (P-521), 1.3.132.0.35.
    pub(crate) const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
    /// secp256k1, 1.3.132.0.10.
    pub(crate) const SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
    /// id-Ed25519, 1.3.101.112.
    pub(crate) const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    /// id-Ed448, 1.3.101.113.
    pub(crate) const ED448: &[u8] = &[0x2b, 0x65, 0x71];
}

/// Reads one element: its tag, its content and what follows it. `None` for anything that is
/// not definite-length DER with a one-byte tag.
pub(crate) fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers: never in the structures read here
    }
    let (&first, mut rest) = rest.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None; // indefinite length, or longer than any key
        }
        let (bytes, after) = rest.split_at_checked(count)?;
        rest = after;
        bytes
            .iter()
            .fold(0_usize, |length, &byte| (length << 8) | usize::from(byte))
    };
    let (content, rest) = rest.split_at_checked(length)?;
    Some((tag, content, rest))
}

/// Reads one element that must have `tag`: its content and what follows it.
pub(crate) fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match element(input)? {
        (found, content, rest) if found == tag => Some((content, rest)),
        _ => None,
    }
}

/// An `AlgorithmIdentifier`: the algorithm's OID and, when the parameters are an OID (a named
/// curve), that OID.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AlgorithmId<'a> {
    pub(crate) algorithm: &'a [u8],
    pub(crate) curve: Option<&'a [u8]>,
}

fn algorithm_id(content: &[u8]) -> Option<AlgorithmId<'_>> {
    let (algorithm, rest) = expect(content, OID)?;
    let curve = expect(rest, OID).map(|(curve, _)| curve);
    Some(AlgorithmId { algorithm, curve })
}

/// The algorithm and the `privateKey` octets of a PKCS#8 `PrivateKeyInfo` (RFC 5208) or
/// `OneAsymmetricKey` (RFC 5958).
pub(crate) fn pkcs8(der: &[u8]) -> Option<(AlgorithmId<'_>, &[u8])> {
    let (info, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(info, INTEGER)?;
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (private_key, _) = expect(rest, OCTET_STRING)?;
    Some((algorithm_id(algorithm)?, private_key))
}

/// The algorithm and the key bits of a `SubjectPublicKeyInfo` (RFC 5280).
pub(crate) fn spki(der: &[u8]) -> Option<(AlgorithmId<'_>, &[u8])> {
    let (info, _) = expect(der, SEQUENCE)?;
    let (algorithm, rest) = expect(info, SEQUENCE)?;
    let (bits, _) = expect(rest, BIT_STRING)?;
    // The first octet counts the unused bits of the last one: always 0 for a key.
    let (&0, key) = bits.split_first()? else {
        return None;
    };
    Some((algorithm_id(algorithm)?, key))
}

/// The bit length of an unsigned big-endian integer.
pub(crate) fn bit_length(magnitude: &[u8]) -> usize {
    let magnitude = strip_leading_zeros(magnitude);
    match magnitude.first() {
        None => 0,
        Some(&top) => magnitude.len() * 8 - top.leading_zeros() as usize,
    }
}

/// `bytes` without its leading zero octets (a DER INTEGER's sign octet included).
pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    &bytes[zeros..]
}

/// The modulus of an RSA key: the first INTEGER of a PKCS#1 `RSAPublicKey`, or the second of an
/// `RSAPrivateKey` (after the version).
pub(crate) fn rsa_modulus(pkcs1: &[u8], private: bool) -> Option<&[u8]> {
    let (key, _) = expect(pkcs1, SEQUENCE)?;
    let key = if private {
        expect(key, INTEGER)?.1
    } else {
        key
    };
    expect(key, INTEGER).map(|(modulus, _)| modulus)
}

/// A PKCS#1 `RSAPublicKey` from its big-endian modulus and exponent (as a JWK gives them).
pub(crate) fn rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = integer(n);
    body.extend(integer(e));
    tagged(SEQUENCE, &body)
}

/// A DER INTEGER of an unsigned magnitude: leading zeros dropped, one added back when the top
/// bit is set (DER integers are signed).
fn integer(magnitude: &[u8]) -> Vec<u8> {
    let magnitude = strip_leading_zeros(magnitude);
    let mut content = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_none_or(|&top| top & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(magnitude);
    tagged(INTEGER, &content)
}

fn tagged(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let significant = strip_leading_zeros(&bytes);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths() {
        assert_eq!(
            element(&[0x04, 0x01, 0xaa, 0xbb]),
            Some((0x04, &[0xaa][..], &[0xbb][..]))
        );
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7; 0x80]);
        let (tag, content, rest) = element(&long).unwrap();
        assert_eq!((tag, content.len(), rest.len()), (0x04, 0x80, 0));
    }

    #[test]
    fn malformed_input_is_none_never_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x00],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x1f, 0x01, 0x00],
            &[0x30, 0x82, 0xff],
        ] {
            assert!(element(bad).is_none(), "{bad:?}");
            assert!(pkcs8(bad).is_none());
            assert!(spki(bad).is_none());
            assert!(rsa_modulus(bad, true).is_none());
        }
    }

    #[test]
    fn rsa_public_keys_read_back() {
        let der = rsa_public_key(&[0, 0, 0xc0, 1, 2, 3], &[1, 0, 1]);
        assert_eq!(rsa_modulus(&der, false), Some(&[0, 0xc0, 1, 2, 3][..]));
        let long = vec![0x7f; 300];
        let der = rsa_public_key(&long, &[3]);
        assert_eq!(rsa_modulus(&der, false), Some(&long[..]));
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01]), 1);
        assert_eq!(bit_length(&[0x00, 0x00, 0x7f, 0xff]), 15);
    }
}
