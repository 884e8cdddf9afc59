//! The few things the playground asks of the browser: the clock, randomness, downloads, the
//! URL fragment and local files. Nothing here talks to a server.
//!
//! These functions call browser APIs and only work in a page; the logic that uses their
//! results lives in [`crate::model`] and [`crate::state`] and is tested natively.

use std::time::Duration;

use pushproxy_cert::{KeyGen, KeyGenProgress, KeySize, PrivateKey};
use rand::SeedableRng;
use rand::rngs::{StdRng, SysRng};
use time::{OffsetDateTime, UtcOffset};
use wasm_bindgen::{JsCast, JsValue};

use crate::model::format;
use crate::model::keygen::run_slice;

/// How long one slice of key generation may run before the page gets the thread back.
const SLICE_MS: f64 = 30.0;

/// Milliseconds since the Unix epoch, from `Date.now()`.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Whole milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    let ms = now_ms();
    if ms.is_finite() && ms > 0.0 {
        // A positive finite time in milliseconds is far below 2^63.
        ms as u64
    } else {
        0
    }
}

/// Whole seconds since the Unix epoch.
pub fn now_unix_secs() -> i64 {
    i64::try_from(now_unix_ms() / 1000).unwrap_or(i64::MAX)
}

/// The browser's local UTC offset now.
pub fn local_offset() -> UtcOffset {
    format::offset_from_js_minutes(js_sys::Date::new_0().get_timezone_offset())
}

/// The current time in the browser's local offset, whole seconds.
pub fn now_local() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(now_unix_secs())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(local_offset())
}

/// A cryptographically secure generator seeded from `crypto.getRandomValues`.
pub fn rng() -> Result<StdRng, String> {
    StdRng::try_from_rng(&mut SysRng)
        .map_err(|e| format!("the browser gave no secure randomness ({e}); use a current browser"))
}

/// Sixteen random bytes (for a new GUID).
pub fn random_bytes16() -> Result<[u8; 16], String> {
    use rand::Rng;
    let mut bytes = [0u8; 16];
    rng()?.fill_bytes(&mut bytes);
    Ok(bytes)
}

fn js_error(context: &str, error: &JsValue) -> String {
    format!("{context}: {error:?}")
}

/// Offers `bytes` as a file download named `file_name`, through a temporary blob URL that
/// is revoked afterwards.
pub fn download(file_name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| js_error("cannot make the file", &e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| js_error("cannot make a download link", &e))?;
    let anchor = document
        .create_element("a")
        .map_err(|e| js_error("cannot make a link", &e))?
        .dyn_into::<web_sys::HtmlAnchorElement>()
        .map_err(|_| "the link is not an anchor".to_owned())?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).map_err(|e| js_error("cannot revoke the link", &e))?;
    Ok(())
}

/// The URL fragment, with its `#`, or an empty string.
pub fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// The page's URL without its fragment.
pub fn page_url() -> String {
    let Some(window) = web_sys::window() else {
        return String::new();
    };
    let location = window.location();
    let origin = location.origin().unwrap_or_default();
    let path = location.pathname().unwrap_or_default();
    let search = location.search().unwrap_or_default();
    format!("{origin}{path}{search}")
}

/// Replaces the URL fragment without reloading the page or adding a history entry.
pub fn replace_hash(fragment: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let history = window.history().map_err(|e| js_error("no history", &e))?;
    let url = format!("{}{fragment}", page_url());
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&url))
        .map_err(|e| js_error("cannot change the address", &e))
}

/// The bytes of a file the user chose.
pub async fn read_file(file: web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| js_error("cannot read the file", &e))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Generates an RSA key in slices of a few milliseconds, reporting progress after each and
/// yielding to the browser between them, so the page keeps painting and answering. Returns
/// the key and the generator (for what is signed next).
pub async fn generate_key(
    size: KeySize,
    progress: impl Fn(KeyGenProgress),
) -> Result<(PrivateKey, StdRng), String> {
    let mut rng = rng()?;
    let mut keygen = KeyGen::new(size);
    loop {
        let slice_end = now_ms() + SLICE_MS;
        if let Some(key) = run_slice(&mut keygen, &mut rng, || now_ms() > slice_end) {
            return Ok((key, rng));
        }
        progress(keygen.progress());
        // A zero timeout lets the browser paint and handle input before the next slice.
        yew::platform::time::sleep(Duration::ZERO).await;
    }
}
