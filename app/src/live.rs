//! Pages that follow an election live: one `EventSource` per page on the election's event
//! stream (`GET /api/elections/{id}/events`), open while the page is visible and closed
//! while it is hidden (a browser holds six connections per site over HTTP/1.1) and when
//! the page goes. A change the page cares about bumps a version the page's data depends
//! on, once per burst: the page reads its own data again.

use ledger::ElectionId;
use leptos::prelude::*;
use wire::Change;

/// Changes arriving within this many milliseconds are read as one.
#[cfg(feature = "hydrate")]
const BURST: std::time::Duration = std::time::Duration::from_millis(250);

/// A version bumped whenever `election` changes in a way `cares` picks out, while the page
/// is visible (and on coming back into view, for what changed while it was hidden).
/// Without JavaScript it stays 0. Call it in the page's component.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
pub fn version(election: ElectionId, cares: fn(&Change) -> bool) -> RwSignal<u32> {
    let version = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    client::follow(election, version, cares);
    version
}

/// Whether an event id says "unchanged since the server started": a page made since
/// shows that already.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn unchanged_since_start(id: &str) -> bool {
    id.rsplit_once('-').is_some_and(|(_, n)| n == "0")
}

#[cfg(feature = "hydrate")]
mod client {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    /// The page's stream and the closures the browser calls.
    #[derive(Default)]
    struct Stream {
        source: Option<web_sys::EventSource>,
        on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
        on_open: Option<Closure<dyn FnMut()>>,
        on_visibility: Option<Closure<dyn FnMut()>>,
        /// A burst is being gathered: the version moves once it ends.
        gathering: bool,
    }

    impl Stream {
        fn close(&mut self) {
            if let Some(source) = self.source.take() {
                source.close();
                mark("closed");
            }
            self.on_message = None;
            self.on_open = None;
        }
    }

    fn document() -> Option<web_sys::Document> {
        web_sys::window().and_then(|w| w.document())
    }

    fn hidden() -> bool {
        document().is_some_and(|d| d.hidden())
    }

    /// Says on the page's root element whether its stream is open (`data-live`): for
    /// whoever looks at the page, and for the browser tests, which cannot wait for the
    /// network to go quiet on a page that keeps a stream open.
    fn mark(state: &str) {
        if let Some(root) = document().and_then(|d| d.document_element()) {
            // A root that refuses the attribute only loses the mark.
            let _ = root.set_attribute("data-live", state);
        }
    }

    pub(super) fn follow(election: ElectionId, version: RwSignal<u32>, cares: fn(&Change) -> bool) {
        let stream = Rc::new(RefCell::new(Stream::default()));
        open(election, version, &stream, cares);
        let on_visibility = {
            let stream = Rc::downgrade(&stream);
            Closure::<dyn FnMut()>::new(move || {
                let Some(stream) = stream.upgrade() else {
                    return;
                };
                if hidden() {
                    stream.borrow_mut().close();
                } else {
                    open(election, version, &stream, cares);
                }
            })
        };
        if let Some(document) = document() {
            // A page that cannot listen keeps its stream while hidden: it still follows.
            let _ = document.add_event_listener_with_callback(
                "visibilitychange",
                on_visibility.as_ref().unchecked_ref(),
            );
        }
        stream.borrow_mut().on_visibility = Some(on_visibility);
        let kept = StoredValue::new_local(stream);
        on_cleanup(move || {
            let Some(stream) = kept.try_get_value() else {
                return;
            };
            let mut stream = stream.borrow_mut();
            stream.close();
            if let (Some(document), Some(listener)) = (document(), stream.on_visibility.take()) {
                let _ = document.remove_event_listener_with_callback(
                    "visibilitychange",
                    listener.as_ref().unchecked_ref(),
                );
            }
        });
    }

    /// Opens the page's stream, unless it is open already or the page is hidden. On
    /// opening, the server sends the current version of each kind: what changed while the
    /// page was hidden moves the version too.
    fn open(
        election: ElectionId,
        version: RwSignal<u32>,
        stream: &Rc<RefCell<Stream>>,
        cares: fn(&Change) -> bool,
    ) {
        if hidden() || stream.borrow().source.is_some() {
            return;
        }
        // A browser without EventSource: the page stays as loaded, as without JavaScript.
        let Ok(source) = web_sys::EventSource::new(&wire::paths::events(election)) else {
            return;
        };
        let weak = Rc::downgrade(stream);
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |m: web_sys::MessageEvent| {
                let Some(text) = m.data().as_string() else {
                    return;
                };
                let Ok(event) = serde_json::from_str::<wire::LiveEvent>(&text) else {
                    return;
                };
                if unchanged_since_start(&event.id) || !cares(&event.change) {
                    return;
                }
                let Some(stream) = weak.upgrade() else { return };
                if std::mem::replace(&mut stream.borrow_mut().gathering, true) {
                    return;
                }
                let weak = Rc::downgrade(&stream);
                set_timeout(
                    move || {
                        if let Some(stream) = weak.upgrade() {
                            stream.borrow_mut().gathering = false;
                        }
                        version.try_update(|v| *v += 1);
                    },
                    BURST,
                );
            });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_open = Closure::<dyn FnMut()>::new(|| mark("open"));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let mut stream = stream.borrow_mut();
        stream.source = Some(source);
        stream.on_message = Some(on_message);
        stream.on_open = Some(on_open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_id_numbered_zero_means_unchanged_since_the_server_started() {
        assert!(unchanged_since_start("a1b2c3d4-0"));
        assert!(!unchanged_since_start("a1b2c3d4-10"));
        assert!(!unchanged_since_start("a1b2c3d4-20"));
        assert!(!unchanged_since_start("garbage"));
    }
}
