//! Proving a shared secret when a connection opens (`--secret FILE`).
//!
//! The process that accepts a connection speaks first: one frame with a fresh random
//! challenge. The connecting process answers with its hello, which carries
//! `HMAC-SHA256(secret, challenge ‖ listen address ‖ name)` when it has a secret. An
//! acceptor with a secret delivers nothing from a connection whose hello lacks the proof
//! or carries a wrong one: it closes it and counts it. The secret never crosses the wire
//! and is never printed (its `Debug` says only that there is one); a captured proof is
//! worth nothing on another connection, whose challenge differs.

use std::fmt;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::wire::Hello;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of a challenge.
pub const CHALLENGE_BYTES: usize = 32;

/// The first frame on every connection, from the accepting side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Hex of [`CHALLENGE_BYTES`] random bytes.
    pub challenge: String,
}

/// A shared secret, read from a file.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// The secret is the file's content without trailing whitespace (a final newline an
    /// editor adds is not part of it); an empty one is refused.
    pub fn from_file(path: &Path) -> Result<Secret, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        if end == 0 {
            return Err(format!("{}: the secret is empty", path.display()));
        }
        Ok(Secret(bytes[..end].to_vec()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Secret {
        assert!(!bytes.is_empty(), "a secret has bytes");
        Secret(bytes.to_vec())
    }

    fn mac(&self, challenge: &str, hello: &Hello) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(challenge.as_bytes());
        mac.update(b"\n");
        mac.update(hello.listen.to_string().as_bytes());
        mac.update(b"\n");
        mac.update(hello.name.as_bytes());
        mac
    }

    /// The proof a hello carries in answer to `challenge`.
    pub fn prove(&self, challenge: &str, hello: &Hello) -> String {
        hex(&self.mac(challenge, hello).finalize().into_bytes())
    }

    /// Whether `hello` proves this secret for `challenge` (compared in constant time).
    pub fn verify(&self, challenge: &str, hello: &Hello) -> bool {
        let Some(proof) = hello.proof.as_deref().and_then(unhex) else {
            return false;
        };
        self.mac(challenge, hello).verify_slice(&proof).is_ok()
    }
}

/// A fresh challenge, from the operating system's randomness (live only: a simulation
/// never opens connections).
pub fn challenge() -> Challenge {
    let mut bytes = [0u8; CHALLENGE_BYTES];
    rand::fill(&mut bytes);
    Challenge {
        challenge: hex(&bytes),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(proof: Option<String>) -> Hello {
        Hello {
            listen: "127.0.0.1:5051".parse().unwrap(),
            name: "agent".into(),
            proof,
        }
    }

    #[test]
    fn a_proof_holds_for_its_secret_challenge_and_hello_only() {
        let secret = Secret::from_bytes(b"s3cret");
        let c = challenge().challenge;
        let proof = secret.prove(&c, &hello(None));
        assert!(secret.verify(&c, &hello(Some(proof.clone()))));
        assert!(!Secret::from_bytes(b"other").verify(&c, &hello(Some(proof.clone()))));
        assert!(!secret.verify(&challenge().challenge, &hello(Some(proof.clone()))));
        let mut renamed = hello(Some(proof));
        renamed.name = "master".into();
        assert!(!secret.verify(&c, &renamed));
        assert!(!secret.verify(&c, &hello(None)));
        assert!(!secret.verify(&c, &hello(Some("zz".into()))));
        assert!(!secret.verify(&c, &hello(Some("abc".into()))));
    }

    #[test]
    fn challenges_differ_and_secrets_do_not_print() {
        assert_ne!(challenge(), challenge());
        assert_eq!(challenge().challenge.len(), 2 * CHALLENGE_BYTES);
        assert_eq!(format!("{:?}", Secret::from_bytes(b"hunter2")), "Secret(..)");
    }

    #[test]
    fn a_secret_file_loses_its_trailing_newline_and_may_not_be_empty() {
        let dir = std::env::temp_dir().join(format!("mesosim-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "abc\n").unwrap();
        assert_eq!(Secret::from_file(&file).unwrap(), Secret::from_bytes(b"abc"));
        std::fs::write(&file, " \n").unwrap();
        assert!(Secret::from_file(&file).unwrap_err().contains("empty"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
