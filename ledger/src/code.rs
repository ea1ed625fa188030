//! Voting codes: 120 random bits written as 24 Crockford base-32 characters in groups of
//! four. The code is the seed of the voter's Ed25519 key, so whoever holds the code (and
//! only they) can sign that voter's ballot; the server keeps just the public key.

use crate::hash::{sha256, PublicKey};
use crate::id::ElectionId;
use ed25519_dalek::SigningKey;
use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random bytes in a code.
pub const CODE_BYTES: usize = 15;
/// Characters in a code, without separators.
pub const CODE_CHARS: usize = 24;

/// Why a typed code is not a well-formed voting code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Wrong number of characters once separators are removed.
    #[error("a voting code has {CODE_CHARS} characters, this one has {0}")]
    WrongLength(usize),
    /// A character outside the code alphabet.
    #[error("'{0}' cannot appear in a voting code")]
    BadCharacter(char),
}

/// A voter's secret voting code.
#[derive(Clone, PartialEq, Eq)]
pub struct VotingCode([u8; CODE_BYTES]);

impl VotingCode {
    /// A code from fresh random bytes (the caller supplies a cryptographic RNG's output).
    pub fn from_entropy(bytes: [u8; CODE_BYTES]) -> Self {
        Self(bytes)
    }

    /// Parses a typed code: case-insensitive, separators (`-`, spaces) ignored, and the
    /// look-alikes O→0, I/L→1 accepted as Crockford base 32 prescribes.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let mut acc: u128 = 0;
        let mut n = 0usize;
        for c in text.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let up = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            let v = ALPHABET
                .iter()
                .position(|&a| a as char == up)
                .ok_or(CodeError::BadCharacter(c))?;
            n += 1;
            if n <= CODE_CHARS {
                acc = (acc << 5) | v as u128;
            }
        }
        if n != CODE_CHARS {
            return Err(CodeError::WrongLength(n));
        }
        let bytes = acc.to_be_bytes();
        let mut out = [0u8; CODE_BYTES];
        out.copy_from_slice(&bytes[16 - CODE_BYTES..]);
        Ok(Self(out))
    }

    /// The voter's signing key in one election: SHA-256 of a domain tag, the election and
    /// the code's bits. Binding the election keeps keys distinct across elections.
    pub fn signing_key(&self, election: ElectionId) -> SigningKey {
        let mut input = Vec::with_capacity(64);
        input.extend_from_slice(b"ballotchain/voter-key/v1");
        input.extend_from_slice(&election.0.to_le_bytes());
        input.extend_from_slice(&self.0);
        SigningKey::from_bytes(&sha256(&input))
    }

    /// The voter's public key in one election: what the registry stores.
    pub fn public_key(&self, election: ElectionId) -> PublicKey {
        PublicKey(self.signing_key(election).verifying_key().to_bytes())
    }
}

impl fmt::Display for VotingCode {
    /// Groups of four characters separated by dashes, e.g. `7K2M-…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wide = [0u8; 16];
        wide[16 - CODE_BYTES..].copy_from_slice(&self.0);
        let acc = u128::from_be_bytes(wide);
        for i in 0..CODE_CHARS {
            if i > 0 && i % 4 == 0 {
                f.write_str("-")?;
            }
            let shift = 5 * (CODE_CHARS - 1 - i);
            let v = ((acc >> shift) & 31) as usize;
            write!(f, "{}", ALPHABET[v] as char)?;
        }
        Ok(())
    }
}

impl fmt::Debug for VotingCode {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VotingCode(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_round_trips_through_its_text() {
        let code = VotingCode::from_entropy([0xA5; CODE_BYTES]);
        let text = code.to_string();
        assert_eq!(text.len(), CODE_CHARS + 5);
        assert_eq!(VotingCode::parse(&text).unwrap(), code);
        assert_eq!(
            VotingCode::parse(&text.to_lowercase().replace('-', " ")).unwrap(),
            code
        );
    }

    #[test]
    fn look_alike_letters_are_read_as_digits() {
        let code = VotingCode::from_entropy([0; CODE_BYTES]);
        assert_eq!(code.to_string(), "0000-0000-0000-0000-0000-0000");
        assert_eq!(
            VotingCode::parse("OOOO-oooo-0000-0000-0000-0000").unwrap(),
            code
        );
    }

    #[test]
    fn malformed_codes_are_rejected() {
        assert_eq!(VotingCode::parse("ABC"), Err(CodeError::WrongLength(3)));
        assert_eq!(
            VotingCode::parse("UUUU-0000-0000-0000-0000-0000"),
            Err(CodeError::BadCharacter('U'))
        );
        assert_eq!(
            VotingCode::parse(&"0".repeat(25)),
            Err(CodeError::WrongLength(25))
        );
    }

    #[test]
    fn the_key_depends_on_code_and_election() {
        let a = VotingCode::from_entropy([1; CODE_BYTES]);
        let b = VotingCode::from_entropy([2; CODE_BYTES]);
        assert_ne!(a.public_key(ElectionId(1)), b.public_key(ElectionId(1)));
        assert_ne!(a.public_key(ElectionId(1)), a.public_key(ElectionId(2)));
        assert_eq!(a.public_key(ElectionId(1)), a.public_key(ElectionId(1)));
    }
}
