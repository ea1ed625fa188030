//! The cryptography of ballotchain's pages, each job in its own web worker and its own
//! WebAssembly bundle (`/workers/<bundle>.js`, built by scripts/build-workers.sh):
//!
//! - [`checker`]: the validator's copy of the chain, kept in the browser's IndexedDB and
//!   followed block by block, and the check of each awaiting block against it; the
//!   checker spreads the votes' signatures over [`signatures`] workers of its own;
//! - [`keys`]: key files (made, opened, sealed) and the validator's signatures; the
//!   unlocked key lives in that worker, never in the page;
//! - [`codes`]: the officer's voting codes, made from the roll;
//! - [`ballot`]: the voter's signature, with a key made from their code.
//!
//! The page bundle links this library for the messages and to spawn the workers: each
//! worker's module has one typed async function per request (e.g. [`keys::open`]), whose
//! error is that worker's own enum. A worker's work is reached only from its bundle's
//! entry point, so the page a voter downloads carries none of it. Work runs off the page's thread, so the page
//! stays responsive while argon2 or a chain check runs.

pub mod ballot;
pub mod checker;
pub mod codes;
pub mod keys;
pub mod signatures;

mod client;
pub use client::dismiss;
pub(crate) use client::{ask, ask_on};

use gloo_worker::Worker;
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::JsValue;

/// A worker that answers numbered requests: each answer carries its request's number.
pub trait Job:
    Worker<Input = (u32, Self::Request), Output = (u32, Self::Answer)> + Sized + 'static
{
    /// What the page asks.
    type Request: Serialize + DeserializeOwned + 'static;
    /// What the worker answers.
    type Answer: Serialize + DeserializeOwned + 'static;
    /// How its messages travel: [`Json`], or gloo-worker's `Bincode` for bytes.
    type Codec: gloo_worker::Codec + 'static;
    /// The bundle that runs it (`/workers/worker.js?bundle=…`).
    const BUNDLE: &'static str;
}

/// Messages as JSON text, for requests and answers carrying wire types (whose serde
/// attributes want a self-describing format).
pub struct Json;

impl gloo_worker::Codec for Json {
    fn encode<I: Serialize>(input: I) -> JsValue {
        // The messages are this crate's own types, which always serialise.
        JsValue::from_str(&serde_json::to_string(&input).unwrap_or_default())
    }

    fn decode<O: for<'de> serde::Deserialize<'de>>(input: JsValue) -> O {
        let text = input.as_string().unwrap_or_default();
        serde_json::from_str(&text).expect("a worker message of this crate's own types")
    }
}

/// Registers `W` as this bundle's worker (its entry point's `main`).
pub fn register<W: Job>() {
    use gloo_worker::Registrable;
    W::registrar().encoding::<W::Codec>().register();
}

/// Milliseconds on the worker's clock.
#[cfg(target_arch = "wasm32")]
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn now_ms() -> f64 {
    0.0
}
