//! Passwords: Argon2id hashes (PHC strings, `password-auth`), the policy for new ones, and
//! generated ones for the command line. Hashing is slow on purpose, so it runs off the async
//! workers.

use std::sync::LazyLock;

/// Shortest password accepted.
pub const MIN_LEN: usize = 12;
/// Longest password accepted (hashing cost grows with length).
pub const MAX_LEN: usize = 256;

/// Why a new password is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Shorter than [`MIN_LEN`].
    #[error("the password must be at least {MIN_LEN} characters long")]
    TooShort,
    /// Longer than [`MAX_LEN`].
    #[error("the password must be at most {MAX_LEN} characters long")]
    TooLong,
    /// The same as the login name.
    #[error("the password must not be the e-mail address")]
    SameAsEmail,
}

/// Checks a new password against the policy.
pub fn check_new(password: &str, email: &str) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_LEN {
        return Err(PasswordProblem::TooLong);
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(PasswordProblem::SameAsEmail);
    }
    Ok(())
}

/// Hashes a password (Argon2id, random salt).
pub async fn hash(password: String) -> anyhow::Result<String> {
    Ok(tokio::task::spawn_blocking(move || password_auth::generate_hash(password)).await?)
}

/// A hash of nothing anyone knows: unknown users are checked against it, so that a wrong
/// e-mail address takes as long as a wrong password.
static DECOY: LazyLock<String> =
    LazyLock::new(|| password_auth::generate_hash("bulwark decoy: never a real password"));

/// Whether `password` matches `hash`. `None` (no such user, or no local password) is checked
/// against a decoy and never matches.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    if password.len() > MAX_LEN * 4 {
        return false;
    }
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => password_auth::verify_password(password, &hash).is_ok(),
        None => {
            let _ = password_auth::verify_password(password, &DECOY);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A random password of 20 characters from an alphabet without look-alikes (~115 bits).
pub fn generate() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("system random generator: {e}"))?;
    // 256 % 57 != 0 leaves a slight bias; rejection sampling keeps it uniform.
    let mut out = String::with_capacity(20);
    let mut pool = bytes.to_vec();
    while out.len() < 20 {
        if pool.is_empty() {
            let mut more = [0u8; 20];
            getrandom::fill(&mut more)
                .map_err(|e| anyhow::anyhow!("system random generator: {e}"))?;
            pool.extend_from_slice(&more);
        }
        let b = pool.remove(0);
        let limit = 256 - 256 % ALPHABET.len();
        if usize::from(b) < limit {
            out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_long_and_email_passwords() {
        assert_eq!(check_new("short", "a@b.c"), Err(PasswordProblem::TooShort));
        assert_eq!(
            check_new(&"x".repeat(MAX_LEN + 1), "a@b.c"),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(
            check_new("Alice@Example.com", "alice@example.com"),
            Err(PasswordProblem::SameAsEmail)
        );
        assert_eq!(check_new("correct horse battery", "a@b.c"), Ok(()));
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate().expect("random");
        let b = generate().expect("random");
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert_eq!(check_new(&a, "a@b.c"), Ok(()));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(h)).await);
        assert!(!verify("anything".into(), None).await);
    }
}
