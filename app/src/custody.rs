//! What the pages keep in this browser and read from it: the validator's key file (made,
//! sealed and opened in the key worker, crate `workers`; only its public half, a proof of
//! possession and signed decisions are ever sent, and the file is encrypted under the
//! validator's passphrase before it is offered for download or remembered here), the
//! fields of a form, chosen files, and JSON posted to this server.

use leptos::prelude::{GetUntracked, NodeRef};
use serde::{de::DeserializeOwned, Serialize};

/// Where a remembered key file lives in this browser's storage.
fn storage_key(username: &str) -> String {
    format!("ballotchain.key.{username}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// A value this browser keeps under `key` (the explorer's last seen heads).
pub fn stored(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

/// Keeps `value` under `key` in this browser, if it keeps anything.
pub fn store(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

/// The key file remembered in this browser for `username` (its JSON text, still
/// encrypted).
pub fn remembered(username: &str) -> Option<String> {
    storage()?.get_item(&storage_key(username)).ok().flatten()
}

/// Remembers the (encrypted) key file, its JSON text, in this browser.
pub fn remember(username: &str, file: &str) -> Result<(), String> {
    keep_whole(&storage_key(username), file, "the key file")
}

/// Stores `text` (`what`: a key file, a count record) under `key`, replacing the copy there only once the new one
/// reads back whole: it is stored beside it first and read back, then over the old copy
/// and read back again, and only then is the copy beside removed. When the browser refuses
/// any of it (its storage full, say), the old copy stays as it was.
fn keep_whole(key: &str, text: &str, what: &str) -> Result<(), String> {
    let s = storage().ok_or("this browser keeps no local storage")?;
    let refused = |why: &str| {
        format!("this browser refused to store {what} ({why}); the copy it remembered is unchanged")
    };
    let aside = format!("{key}.saving");
    let reads_back = |at: &str| s.get_item(at).ok().flatten().as_deref() == Some(text);
    if s.set_item(&aside, text).is_err() || !reads_back(&aside) {
        let _ = s.remove_item(&aside);
        return Err(refused("its storage may be full"));
    }
    let old = s.get_item(key).ok().flatten();
    if s.set_item(key, text).is_err() || !reads_back(key) {
        if let Some(old) = old {
            let _ = s.set_item(key, &old);
        }
        let _ = s.remove_item(&aside);
        return Err(refused("the new copy did not read back"));
    }
    let _ = s.remove_item(&aside);
    Ok(())
}

/// Where a trustee's key file for `election` lives in this browser's storage.
fn trustee_storage_key(election: ledger::ElectionId) -> String {
    format!("ballotchain.trustee.{election}")
}

/// The trustee's key file remembered in this browser for `election` (its JSON text, still
/// encrypted, with the trustee's side of the ceremony sealed in it).
pub fn remembered_trustee(election: ledger::ElectionId) -> Option<String> {
    storage()?
        .get_item(&trustee_storage_key(election))
        .ok()
        .flatten()
}

/// Remembers a trustee's (encrypted) key file for `election` in this browser (replacing
/// the copy there only once the new one reads back).
pub fn remember_trustee(election: ledger::ElectionId, file: &str) -> Result<(), String> {
    keep_whole(&trustee_storage_key(election), file, "the key file")
}

/// Where this browser records the count a trustee decrypted for the election of `genesis`.
fn count_storage_key(genesis: &ledger::BlockHash, trustee: &ledger::PublicKey) -> String {
    format!("ballotchain.count.{genesis}.{}", trustee.to_hex())
}

/// The count this browser recorded for this genesis block and trustee, if any (a record
/// that does not read is an error, never taken for none).
pub fn recorded_count(
    genesis: &ledger::BlockHash,
    trustee: &ledger::PublicKey,
) -> Result<Option<ledger::result::CountRecord>, String> {
    let Some(text) = stored(&count_storage_key(genesis, trustee)) else {
        return Ok(None);
    };
    serde_json::from_str(&text).map(Some).map_err(|_| {
        "the count this browser recorded for your key does not read: posting nothing".to_owned()
    })
}

/// Records the count a trustee decrypted, in this browser, before the share is posted
/// (stored whole, and read back).
pub fn record_count(record: &ledger::result::CountRecord) -> Result<(), String> {
    let text = serde_json::to_string(record).map_err(|e| e.to_string())?;
    keep_whole(
        &count_storage_key(&record.genesis, &record.trustee),
        &text,
        "the count record",
    )
}

/// Forgets the key file remembered in this browser.
pub fn forget(username: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(&storage_key(username));
    }
}

/// A `data:` link that downloads the (encrypted) key file, its JSON text.
pub fn download_href(file: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    format!(
        "data:application/json;charset=utf-8,{}",
        utf8_percent_encode(&format!("{file}\n"), NON_ALPHANUMERIC)
    )
}

/// A link that downloads `text` as a file of this type: an object URL over a `Blob`, so a
/// codes sheet of a hundred thousand voters downloads whole (a `data:` URL that long does
/// not).
pub fn download_text(mime: &str, text: &str) -> Result<String, String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| "the browser could not make the file".to_owned())?;
    web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| "the browser could not offer the file".to_owned())
}

/// The text of the file chosen in this file input, if one is. Read from the page when it
/// is needed, not kept in a signal: a person may choose before the page has come alive.
pub async fn text_of(input: NodeRef<leptos::html::Input>) -> Result<Option<String>, String> {
    let Some(file) = input
        .get_untracked()
        .and_then(|i| i.files())
        .and_then(|f| f.get(0))
    else {
        return Ok(None);
    };
    file_text(file).await.map(Some)
}

async fn file_text(file: web_sys::File) -> Result<String, String> {
    wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .map_err(|_| "the file could not be read".to_owned())?
        .as_string()
        .ok_or_else(|| "the file is not text".to_owned())
}

/// POSTs JSON to this server's API; a refusal is its error code (none when the server
/// could not be reached or answered something else).
pub async fn post_answer<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, Option<wire::ErrorBody>> {
    let response = gloo_net::http::Request::post(url)
        .json(body)
        .map_err(|_| None)?
        .send()
        .await
        .map_err(|_| None)?;
    if response.ok() {
        return response.json::<T>().await.map_err(|_| None);
    }
    Err(response.json::<wire::ErrorBody>().await.ok())
}

/// POSTs JSON to this server's API; a refusal is the server's own message.
pub async fn post_json<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, String> {
    let response = gloo_net::http::Request::post(url)
        .json(body)
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| format!("the server could not be reached: {e}"))?;
    if response.ok() {
        return response.json::<T>().await.map_err(|e| e.to_string());
    }
    let status = response.status();
    match response.json::<wire::ErrorBody>().await {
        Ok(body) if body.details.is_empty() => Err(body.message),
        Ok(body) => Err(format!("{}: {}", body.message, body.details.join("; "))),
        Err(_) => Err(format!("the server answered {status}")),
    }
}
