//! API token secrets: generation and hashing. A token is `bwk_` followed by 64 hex digits
//! (256 random bits); only its SHA-256 is stored, so a database leak yields no usable token,
//! and lookup by hash makes the comparison independent of how much of a guess is right.

use sha2::{Digest, Sha256};

/// Every token starts with this, so secret scanners and people can recognise one.
pub const PREFIX: &str = "bwk_";

/// A freshly generated token secret. Shown once, then only its hash is kept.
pub struct TokenSecret(String);

impl TokenSecret {
    /// 256 bits from the operating system's generator.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(TokenSecret(format!("{PREFIX}{}", hex::encode(bytes))))
    }

    /// The secret, for showing to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first characters, stored to recognise the token in lists.
    pub fn display_prefix(&self) -> &str {
        &self.0[..PREFIX.len() + 8]
    }

    /// What is stored.
    pub fn hash(&self) -> [u8; 32] {
        hash(&self.0)
    }
}

/// SHA-256 of a presented token.
pub fn hash(presented: &str) -> [u8; 32] {
    Sha256::digest(presented.as_bytes()).into()
}

/// Whether a presented string has the shape of a token (cheap check before any lookup).
pub fn looks_like_token(presented: &str) -> bool {
    presented.len() == PREFIX.len() + 64
        && presented.starts_with(PREFIX)
        && presented[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = TokenSecret::generate().unwrap();
        let b = TokenSecret::generate().unwrap();
        assert!(looks_like_token(a.expose()));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.hash(), hash(a.expose()));
        assert!(a.expose().starts_with(a.display_prefix()));
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        assert!(!looks_like_token("bwk_123"));
        assert!(!looks_like_token(&format!("xyz_{}", "a".repeat(64))));
        assert!(!looks_like_token(&format!("bwk_{}", "G".repeat(64))));
    }
}
