//! Enrolment codes and device tokens: making them, normalising what a person
//! typed, and hashing them. The server stores only SHA-256 hashes of both,
//! so a copy of its database cannot be used to impersonate a till. Storing
//! them is the backend's business; this module does no I/O beyond asking
//! the operating system for random bytes.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or
/// typed from a screen has no look-alike letters.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh one-time enrolment code: 16 base32 characters (80 random bits)
/// in four groups, e.g. `7K2M-QX9D-4HTR-B1CE`.
pub fn new_enroll_code() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| Error::Random)?;
    Ok(format_code(&bytes))
}

/// The code for 16 random bytes (5 bits of each used): pure, for tests.
pub fn format_code(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(19);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[(b & 31) as usize] as char);
    }
    out
}

/// What a person typed, in the canonical form that is hashed: case,
/// spaces and dashes ignored, and the look-alikes O -> 0, I/L -> 1.
/// `None` when it cannot be a code (wrong length or a foreign character).
pub fn normalise_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(16);
    for ch in typed.chars() {
        let c = match ch.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == 16).then_some(out)
}

/// The hash under which a code is stored and looked up.
pub fn code_hash(normalised: &str) -> String {
    sha256_hex(normalised.as_bytes())
}

/// A fresh bearer token: 256 random bits, hex.
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| Error::Random)?;
    Ok(hex(&bytes))
}

/// The hash under which a token is stored and looked up.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn sha256_hex(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_typed_back_forgivingly() {
        let code = format_code(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 31]);
        assert_eq!(code, "0123-4567-89AB-CDEZ");
        let cases = [
            ("0123-4567-89AB-CDEZ", Some("0123456789ABCDEZ")),
            ("o123 4567 89ab cdez", Some("0123456789ABCDEZ")),
            ("Ol23-4567-89AB-CDEZ", Some("0123456789ABCDEZ")),
            ("0123-4567-89AB-CDE", None),
            ("0123-4567-89AB-CDEZ0", None),
            ("0123-4567-89AB-CDEU", None),
            ("0123-4567-89AB-CDEé", None),
        ];
        for (typed, want) in cases {
            assert_eq!(normalise_code(typed).as_deref(), want, "{typed}");
        }
        let fresh = new_enroll_code().unwrap();
        assert_eq!(fresh.len(), 19);
        assert!(normalise_code(&fresh).is_some());
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hash(&a), token_hash(&a.clone()));
        assert_ne!(token_hash(&a), a);
    }
}
