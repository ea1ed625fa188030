//! A signing key kept by its holder, never by the server: an Ed25519 key in a key file
//! encrypted under the holder's passphrase.
//!
//! The passphrase is stretched with argon2id into a 256-bit key; the Ed25519 seed is sealed
//! with XChaCha20-Poly1305, its public key bound in as associated data, so a file whose
//! public key was swapped does not open. The file is small JSON (see [`KeyFile`]); the same
//! code runs in the validator's browser (WebAssembly) and in the `ballotchain` CLI.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use ed25519_dalek::SigningKey;
use ledger::PublicKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The `format` field of every key file.
pub const FORMAT: &str = "ballotchain-key";
/// The version this crate writes and reads.
pub const VERSION: u32 = 1;
/// Shortest passphrase accepted when sealing.
pub const MIN_PASSPHRASE: usize = 12;

/// Why a key file could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The passphrase is too short to seal a key under.
    #[error("a passphrase needs at least {MIN_PASSPHRASE} characters")]
    WeakPassphrase,
    /// Wrong passphrase (or a file altered after sealing: the two look the same).
    #[error("wrong passphrase, or the key file was altered")]
    WrongPassphrase,
    /// Not a key file of this format and version.
    #[error("not a ballotchain key file: {0}")]
    Format(String),
    /// The operating system gave no randomness.
    #[error("no randomness available: {0}")]
    Randomness(String),
    /// A file about to be saved did not turn into text, or did not read back as the one
    /// sealed: nothing may replace the old file.
    #[error("the key file was not saved: {0}")]
    Unsaved(String),
}

/// How the passphrase is stretched: argon2id with these costs and this salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    /// Always "argon2id".
    pub algorithm: String,
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// 16 random bytes, hex.
    pub salt: String,
}

/// A passphrase-encrypted Ed25519 key, as JSON:
///
/// ```json
/// {"format": "ballotchain-key", "version": 1, "label": "validator1",
///  "public_key": "<64 hex>",
///  "kdf": {"algorithm": "argon2id", "memory_kib": 19456, "iterations": 2,
///          "parallelism": 1, "salt": "<32 hex>"},
///  "cipher": "xchacha20poly1305", "nonce": "<48 hex>", "sealed_seed": "<96 hex>"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Whose key this is, for people (not secret, not checked).
    pub label: String,
    /// The key's public half: what the server and the genesis block know.
    pub public_key: PublicKey,
    /// How the passphrase becomes the encryption key.
    pub kdf: Kdf,
    /// Always "xchacha20poly1305".
    pub cipher: String,
    /// 24 random bytes, hex.
    pub nonce: String,
    /// The 32-byte Ed25519 seed, sealed (48 bytes with the tag), hex.
    pub sealed_seed: String,
    /// What the holder keeps between steps, sealed under the same passphrase: a trustee's
    /// side of the key ceremony and then its key share. Absent in a validator's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SealedState>,
}

/// The state kept beside a key, opened: wiped from memory when dropped.
pub type KeptState = Zeroizing<Vec<u8>>;

/// Bytes sealed beside the key ([`KeyFile::with_state`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedState {
    /// 24 random bytes, hex.
    pub nonce: String,
    /// The sealed bytes with their tag, hex.
    pub sealed: String,
}

fn random<const N: usize>() -> Result<[u8; N], KeyFileError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| KeyFileError::Randomness(e.to_string()))?;
    Ok(bytes)
}

fn unhex<const N: usize>(field: &str, text: &str) -> Result<[u8; N], KeyFileError> {
    let bytes =
        hex::decode(text).map_err(|_| KeyFileError::Format(format!("{field} is not hex")))?;
    bytes
        .try_into()
        .map_err(|_| KeyFileError::Format(format!("{field} has the wrong length")))
}

/// The 256-bit encryption key the passphrase stretches to under `kdf`.
fn stretch(passphrase: &str, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    if kdf.algorithm != "argon2id" {
        return Err(KeyFileError::Format(format!(
            "unknown key derivation {:?}",
            kdf.algorithm
        )));
    }
    let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| KeyFileError::Format(format!("key derivation costs: {e}")))?;
    let salt: [u8; 16] = unhex("salt", &kdf.salt)?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, key.as_mut())
        .map_err(|e| KeyFileError::Format(format!("key derivation: {e}")))?;
    Ok(key)
}

/// What the seal covers besides the seed: the format and the public key.
fn associated_data(public_key: &PublicKey) -> Vec<u8> {
    let mut aad = format!("{FORMAT}/{VERSION}/").into_bytes();
    aad.extend_from_slice(&public_key.0);
    aad
}

/// What the seal of the kept state covers: the format, a tag and the public key, so the
/// sealed seed and the sealed state can never pass for each other.
fn state_associated_data(public_key: &PublicKey) -> Vec<u8> {
    let mut aad = format!("{FORMAT}/{VERSION}/state/").into_bytes();
    aad.extend_from_slice(&public_key.0);
    aad
}

impl KeyFile {
    /// Makes a new key and seals it under `passphrase`.
    pub fn generate(label: &str, passphrase: &str) -> Result<(Self, SigningKey), KeyFileError> {
        let seed = Zeroizing::new(random::<32>()?);
        let key = SigningKey::from_bytes(&seed);
        let file = Self::seal(&key, label, passphrase)?;
        Ok((file, key))
    }

    /// Seals an existing key under `passphrase`, with argon2's recommended costs.
    pub fn seal(key: &SigningKey, label: &str, passphrase: &str) -> Result<Self, KeyFileError> {
        Self::seal_with(
            key,
            label,
            passphrase,
            Params::DEFAULT_M_COST,
            Params::DEFAULT_T_COST,
        )
    }

    /// Seals with chosen argon2 memory (KiB) and passes.
    pub fn seal_with(
        key: &SigningKey,
        label: &str,
        passphrase: &str,
        memory_kib: u32,
        iterations: u32,
    ) -> Result<Self, KeyFileError> {
        if passphrase.chars().count() < MIN_PASSPHRASE {
            return Err(KeyFileError::WeakPassphrase);
        }
        let kdf = Kdf {
            algorithm: "argon2id".into(),
            memory_kib,
            iterations,
            parallelism: 1,
            salt: hex::encode(random::<16>()?),
        };
        let public_key = PublicKey(key.verifying_key().to_bytes());
        let nonce = random::<24>()?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(stretch(passphrase, &kdf)?.as_slice()));
        let seed = Zeroizing::new(key.to_bytes());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: seed.as_ref(),
                    aad: &associated_data(&public_key),
                },
            )
            .map_err(|_| KeyFileError::Format("sealing failed".into()))?;
        Ok(Self {
            format: FORMAT.into(),
            version: VERSION,
            label: label.into(),
            public_key,
            kdf,
            cipher: "xchacha20poly1305".into(),
            nonce: hex::encode(nonce),
            sealed_seed: hex::encode(sealed),
            state: None,
        })
    }

    /// The cipher `passphrase` stretches to, for a file of this format.
    fn cipher(&self, passphrase: &str) -> Result<XChaCha20Poly1305, KeyFileError> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(KeyFileError::Format(format!(
                "format {:?} version {}",
                self.format, self.version
            )));
        }
        if self.cipher != "xchacha20poly1305" {
            return Err(KeyFileError::Format(format!(
                "unknown cipher {:?}",
                self.cipher
            )));
        }
        Ok(XChaCha20Poly1305::new(Key::from_slice(
            stretch(passphrase, &self.kdf)?.as_slice(),
        )))
    }

    /// Opens the file with `passphrase`: the key, and the state kept beside it if any.
    pub fn open_with_state(
        &self,
        passphrase: &str,
    ) -> Result<(SigningKey, Option<KeptState>), KeyFileError> {
        let cipher = self.cipher(passphrase)?;
        let key = self.open_seed(&cipher)?;
        let Some(state) = &self.state else {
            return Ok((key, None));
        };
        let nonce: [u8; 24] = unhex("state nonce", &state.nonce)?;
        let sealed = hex::decode(&state.sealed)
            .map_err(|_| KeyFileError::Format("the sealed state is not hex".into()))?;
        let opened = cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &sealed,
                    aad: &state_associated_data(&self.public_key),
                },
            )
            .map_err(|_| KeyFileError::WrongPassphrase)?;
        Ok((key, Some(Zeroizing::new(opened))))
    }

    /// The same file with `state` sealed beside the key (replacing any state it kept).
    /// The passphrase must open the file.
    pub fn with_state(&self, passphrase: &str, state: &[u8]) -> Result<Self, KeyFileError> {
        let cipher = self.cipher(passphrase)?;
        self.open_seed(&cipher)?;
        let nonce = random::<24>()?;
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: state,
                    aad: &state_associated_data(&self.public_key),
                },
            )
            .map_err(|_| KeyFileError::Format("sealing failed".into()))?;
        Ok(Self {
            state: Some(SealedState {
                nonce: hex::encode(nonce),
                sealed: hex::encode(sealed),
            }),
            ..self.clone()
        })
    }

    /// Opens the file with `passphrase`: the signing key, whose public half is checked
    /// against the file's.
    pub fn open(&self, passphrase: &str) -> Result<SigningKey, KeyFileError> {
        self.open_seed(&self.cipher(passphrase)?)
    }

    fn open_seed(&self, cipher: &XChaCha20Poly1305) -> Result<SigningKey, KeyFileError> {
        let nonce: [u8; 24] = unhex("nonce", &self.nonce)?;
        let sealed = hex::decode(&self.sealed_seed)
            .map_err(|_| KeyFileError::Format("sealed_seed is not hex".into()))?;
        let seed = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed,
                        aad: &associated_data(&self.public_key),
                    },
                )
                .map_err(|_| KeyFileError::WrongPassphrase)?,
        );
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| KeyFileError::Format("the sealed seed has the wrong length".into()))?;
        let key = SigningKey::from_bytes(&seed);
        if key.verifying_key().to_bytes() != self.public_key.0 {
            return Err(KeyFileError::Format(
                "the key inside does not match the file's public key".into(),
            ));
        }
        Ok(key)
    }

    /// The file as pretty JSON, for saving.
    pub fn to_json(&self) -> Result<String, KeyFileError> {
        serde_json::to_string_pretty(self).map_err(|e| KeyFileError::Unsaved(e.to_string()))
    }

    /// The file's text with `state` sealed beside the key, read back before it is handed
    /// out: see [`KeyFile::check_saved`].
    pub fn sealed_json(&self, passphrase: &str, state: &[u8]) -> Result<String, KeyFileError> {
        let json = self.with_state(passphrase, state)?.to_json()?;
        self.check_saved(&json, passphrase, state)?;
        Ok(json)
    }

    /// Checks `text`, a copy of this file about to replace it (as written to disk, or to a
    /// browser's storage): it reads as a key file, opens with `passphrase` to this file's
    /// key, and keeps exactly `state`. A save that fails this check must keep the old file.
    pub fn check_saved(
        &self,
        text: &str,
        passphrase: &str,
        state: &[u8],
    ) -> Result<(), KeyFileError> {
        let unsaved = |why: &str| KeyFileError::Unsaved(format!("the new copy {why}"));
        let again = Self::from_json(text).map_err(|_| unsaved("does not read as a key file"))?;
        if again.public_key != self.public_key {
            return Err(unsaved("holds another key"));
        }
        let (_, kept) = again
            .open_with_state(passphrase)
            .map_err(|_| unsaved("does not open with the passphrase"))?;
        if kept.as_deref().map(Vec::as_slice) != Some(state) {
            return Err(unsaved("keeps other state than was sealed"));
        }
        Ok(())
    }

    /// A key file read from JSON.
    pub fn from_json(text: &str) -> Result<Self, KeyFileError> {
        serde_json::from_str(text).map_err(|e| KeyFileError::Format(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Small costs keep the tests fast; the format records them, so opening follows.
    fn sealed(passphrase: &str) -> (KeyFile, SigningKey) {
        let key = SigningKey::from_bytes(&random::<32>().unwrap());
        let file = KeyFile::seal_with(&key, "validator1", passphrase, 64, 1).unwrap();
        (file, key)
    }

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_and_survives_json() {
        let (file, key) = sealed("correct horse battery");
        let again = KeyFile::from_json(&file.to_json().unwrap()).unwrap();
        assert_eq!(again, file);
        let opened = again.open("correct horse battery").unwrap();
        assert_eq!(opened.to_bytes(), key.to_bytes());
        assert_eq!(file.public_key.0, key.verifying_key().to_bytes());
    }

    #[test]
    fn a_wrong_passphrase_is_a_clear_error() {
        let (file, _) = sealed("correct horse battery");
        let err = file.open("correct horse battery!").unwrap_err();
        assert!(matches!(err, KeyFileError::WrongPassphrase));
        assert_eq!(
            err.to_string(),
            "wrong passphrase, or the key file was altered"
        );
    }

    #[test]
    fn a_file_altered_after_sealing_does_not_open() {
        let (file, _) = sealed("correct horse battery");
        let mut swapped = file.clone();
        swapped.public_key = PublicKey([9; 32]);
        assert!(matches!(
            swapped.open("correct horse battery"),
            Err(KeyFileError::WrongPassphrase)
        ));
        let mut flipped = file.clone();
        let mut bytes = hex::decode(&flipped.sealed_seed).unwrap();
        bytes[0] ^= 1;
        flipped.sealed_seed = hex::encode(bytes);
        assert!(flipped.open("correct horse battery").is_err());
        let mut other = file;
        other.format = "something else".into();
        assert!(matches!(
            other.open("correct horse battery"),
            Err(KeyFileError::Format(_))
        ));
    }

    #[test]
    fn a_short_passphrase_seals_nothing_and_the_secret_is_not_in_the_file() {
        let key = SigningKey::from_bytes(&[5; 32]);
        assert!(matches!(
            KeyFile::seal_with(&key, "v", "short", 64, 1),
            Err(KeyFileError::WeakPassphrase)
        ));
        let file = KeyFile::seal_with(&key, "v", "long enough passphrase", 64, 1).unwrap();
        let json = file.to_json().unwrap();
        assert!(!json.contains(&hex::encode(key.to_bytes())));
        assert!(KeyFile::from_json("{\"format\": 1}").is_err());
    }

    #[test]
    fn a_state_kept_beside_the_key_opens_only_with_the_passphrase_and_unaltered() {
        let (file, key) = sealed("correct horse battery");
        assert!(!file.to_json().unwrap().contains("state"));
        let (_, none) = file.open_with_state("correct horse battery").unwrap();
        assert!(none.is_none());
        let kept = file
            .with_state("correct horse battery", b"round two")
            .unwrap();
        assert!(!kept.to_json().unwrap().contains(&hex::encode(b"round two")));
        let again = KeyFile::from_json(&kept.to_json().unwrap()).unwrap();
        let (opened, state) = again.open_with_state("correct horse battery").unwrap();
        assert_eq!(opened.to_bytes(), key.to_bytes());
        assert_eq!(state.unwrap().as_slice(), b"round two");
        assert!(matches!(
            file.with_state("not the passphrase", b"x"),
            Err(KeyFileError::WrongPassphrase)
        ));
        // The sealed seed passed off as the state (or the state altered) does not open.
        let mut moved = kept.clone();
        if let Some(state) = moved.state.as_mut() {
            state.nonce = moved.nonce.clone();
            state.sealed = moved.sealed_seed.clone();
        }
        assert!(matches!(
            moved.open_with_state("correct horse battery"),
            Err(KeyFileError::WrongPassphrase)
        ));
        // Sealing again replaces the state.
        let next = kept
            .with_state("correct horse battery", b"round three")
            .unwrap();
        let (_, state) = next.open_with_state("correct horse battery").unwrap();
        assert_eq!(state.unwrap().as_slice(), b"round three");
    }

    #[test]
    fn a_new_copy_replaces_the_file_only_when_it_reads_back_as_sealed() {
        let (file, _) = sealed("correct horse battery");
        let json = file
            .sealed_json("correct horse battery", b"round two")
            .unwrap();
        file.check_saved(&json, "correct horse battery", b"round two")
            .unwrap();
        let refused =
            |text: &str, state: &[u8]| match file.check_saved(text, "correct horse battery", state)
            {
                Err(KeyFileError::Unsaved(why)) => why,
                other => panic!("{other:?}"),
            };
        // Cut short (a write that stopped), empty, or a bare newline: not a key file.
        assert_eq!(
            refused(&json[..json.len() / 2], b"round two"),
            "the new copy does not read as a key file"
        );
        assert_eq!(
            refused("", b"round two"),
            "the new copy does not read as a key file"
        );
        assert_eq!(
            refused("\n", b"round two"),
            "the new copy does not read as a key file"
        );
        // Another state than the one sealed, another key, a flipped byte.
        assert_eq!(
            refused(&json, b"round three"),
            "the new copy keeps other state than was sealed"
        );
        let (other, _) = sealed("correct horse battery");
        let theirs = other
            .sealed_json("correct horse battery", b"round two")
            .unwrap();
        assert_eq!(
            refused(&theirs, b"round two"),
            "the new copy holds another key"
        );
        let mut flipped = KeyFile::from_json(&json).unwrap();
        if let Some(state) = flipped.state.as_mut() {
            let at = state.sealed.len() - 1;
            let last = if state.sealed.ends_with('0') {
                "1"
            } else {
                "0"
            };
            state.sealed.replace_range(at.., last);
        }
        assert_eq!(
            refused(&flipped.to_json().unwrap(), b"round two"),
            "the new copy does not open with the passphrase"
        );
        // No state at all where one was sealed.
        assert_eq!(
            refused(&file.to_json().unwrap(), b"round two"),
            "the new copy keeps other state than was sealed"
        );
        assert!(matches!(
            file.sealed_json("not the passphrase", b"x"),
            Err(KeyFileError::WrongPassphrase)
        ));
    }
}
