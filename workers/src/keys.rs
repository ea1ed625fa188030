//! Key files and the validator's signatures, in their own worker: the key is made or
//! opened here, stays unlocked here while the page lives, and only its public half, its
//! (encrypted) key file and the signatures it makes go back to the page.

use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use keyfile::KeyFile;
use ledger::{Approval, BlockHash, PublicKey, Rejection, Signature};
use serde::{Deserialize, Serialize};

/// What the page asks of its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum KeyRequest {
    /// Makes a new key, sealed in a key file under this passphrase, and keeps it unlocked.
    Generate { label: String, passphrase: String },
    /// Opens this key file (its JSON text) with its passphrase and keeps the key unlocked.
    Open { file: String, passphrase: String },
    /// Reads a key file's public half without opening it.
    Inspect { file: String },
    /// Forgets the unlocked key.
    Lock,
    /// Signs an enrolment challenge: proof that the holder of the key sent it.
    Prove { challenge: Vec<u8> },
    /// Approves a block.
    Approve { block: BlockHash },
    /// Rejects a block, with a reason.
    Reject { block: BlockHash, reason: String },
}

/// What the key worker answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum KeyAnswer {
    /// The key is unlocked here: its key file (the JSON text to download or remember) and
    /// public half.
    Unlocked { file: String, public: PublicKey },
    /// A key file's public half.
    Inspected { public: PublicKey },
    /// No key is unlocked any more.
    Locked,
    /// A proof of possession.
    Proof(Signature),
    /// A signed approval.
    Approval(Approval),
    /// A signed rejection.
    Rejection(Rejection),
}

/// The key worker.
pub struct KeyWorker {
    key: Option<ed25519_dalek::SigningKey>,
}

impl Job for KeyWorker {
    type Request = KeyRequest;
    type Answer = Result<KeyAnswer, String>;
    type Codec = crate::Json;
    const BUNDLE: &'static str = "keys";
}

impl KeyWorker {
    fn answer(&mut self, request: KeyRequest) -> Result<KeyAnswer, String> {
        let unlocked = |key: &Option<ed25519_dalek::SigningKey>| {
            key.clone()
                .ok_or_else(|| "unlock your key first".to_owned())
        };
        Ok(match request {
            KeyRequest::Generate { label, passphrase } => {
                let (file, key) =
                    KeyFile::generate(&label, &passphrase).map_err(|e| e.to_string())?;
                self.key = Some(key);
                KeyAnswer::Unlocked {
                    file: file.to_json(),
                    public: file.public_key,
                }
            }
            KeyRequest::Open { file, passphrase } => {
                let file = KeyFile::from_json(&file).map_err(|e| e.to_string())?;
                self.key = Some(file.open(&passphrase).map_err(|e| e.to_string())?);
                KeyAnswer::Unlocked {
                    file: file.to_json(),
                    public: file.public_key,
                }
            }
            KeyRequest::Inspect { file } => KeyAnswer::Inspected {
                public: KeyFile::from_json(&file)
                    .map_err(|e| e.to_string())?
                    .public_key,
            },
            KeyRequest::Lock => {
                self.key = None;
                KeyAnswer::Locked
            }
            KeyRequest::Prove { challenge } => {
                KeyAnswer::Proof(ledger::prove_possession(&unlocked(&self.key)?, &challenge))
            }
            KeyRequest::Approve { block } => {
                KeyAnswer::Approval(Approval::sign(&unlocked(&self.key)?, block))
            }
            KeyRequest::Reject { block, reason } => {
                KeyAnswer::Rejection(Rejection::sign(&unlocked(&self.key)?, block, &reason))
            }
        })
    }
}

impl Worker for KeyWorker {
    type Message = ();
    type Input = (u32, KeyRequest);
    type Output = (u32, Result<KeyAnswer, String>);

    fn create(_: &WorkerScope<Self>) -> Self {
        Self { key: None }
    }

    fn update(&mut self, _: &WorkerScope<Self>, _: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (id, request): Self::Input, who: HandlerId) {
        let answer = self.answer(request);
        scope.respond(who, (id, answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_signs_only_once_unlocked_and_only_until_locked() {
        let mut w = KeyWorker { key: None };
        let block = BlockHash([3; 32]);
        assert!(w.answer(KeyRequest::Approve { block }).is_err());
        let Ok(KeyAnswer::Unlocked { file, public }) = w.answer(KeyRequest::Generate {
            label: "v".into(),
            passphrase: "a long enough passphrase".into(),
        }) else {
            panic!("a key is made")
        };
        let Ok(KeyAnswer::Approval(a)) = w.answer(KeyRequest::Approve { block }) else {
            panic!("an approval is signed")
        };
        assert!(a.signature_is_valid() && a.validator == public && a.block == block);
        assert!(matches!(w.answer(KeyRequest::Lock), Ok(KeyAnswer::Locked)));
        assert!(w
            .answer(KeyRequest::Reject {
                block,
                reason: "x".into()
            })
            .is_err());
        // The file opens again with its passphrase only, to the same key.
        let wrong = w.answer(KeyRequest::Open {
            file: file.clone(),
            passphrase: "not the passphrase".into(),
        });
        assert_eq!(
            wrong.unwrap_err(),
            "wrong passphrase, or the key file was altered"
        );
        assert!(w.answer(KeyRequest::Prove { challenge: vec![1] }).is_err());
        let Ok(KeyAnswer::Unlocked { public: again, .. }) = w.answer(KeyRequest::Open {
            file: file.clone(),
            passphrase: "a long enough passphrase".into(),
        }) else {
            panic!("the file opens")
        };
        assert_eq!(again, public);
        assert!(matches!(
            w.answer(KeyRequest::Inspect { file }),
            Ok(KeyAnswer::Inspected { public: p }) if p == public
        ));
        assert!(w.answer(KeyRequest::Inspect { file: "{}".into() }).is_err());
    }
}
