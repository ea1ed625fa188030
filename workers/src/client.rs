//! The page's side: one worker per bundle, spawned on first use and kept while the page
//! needs it; a request is a future that resolves with its answer.

use crate::Job;
use futures::channel::oneshot;
use gloo_worker::{Spawnable, WorkerBridge};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

struct Helper<W: Job> {
    bridge: WorkerBridge<W>,
    waiting: Rc<RefCell<HashMap<u32, oneshot::Sender<W::Answer>>>>,
    next: Cell<u32>,
}

/// Workers spawned from here, by bundle and slot.
type Spawned = HashMap<(&'static str, usize), Rc<dyn Any>>;

thread_local! {
    static HELPERS: RefCell<Spawned> = RefCell::new(HashMap::new());
}

fn helper<W: Job>(slot: usize) -> Rc<Helper<W>> {
    if let Some(h) = HELPERS.with_borrow(|all| all.get(&(W::BUNDLE, slot)).cloned()) {
        if let Ok(h) = h.downcast::<Helper<W>>() {
            return h;
        }
    }
    let waiting: Rc<RefCell<HashMap<u32, oneshot::Sender<W::Answer>>>> = Rc::default();
    let answered = Rc::clone(&waiting);
    // `with_loader`: worker.js is the module worker's own entry (it loads the bundle
    // named in its query), not a wasm-bindgen shim for gloo-worker to wrap.
    let bridge = W::spawner()
        .callback(move |(id, answer): (u32, W::Answer)| {
            if let Some(tx) = answered.borrow_mut().remove(&id) {
                let _ = tx.send(answer);
            }
        })
        .with_loader(true)
        .encoding::<W::Codec>()
        .spawn(&format!("/workers/worker.js?bundle={}", W::BUNDLE));
    let h = Rc::new(Helper {
        bridge,
        waiting,
        next: Cell::new(0),
    });
    HELPERS.with_borrow_mut(|all| all.insert((W::BUNDLE, slot), h.clone() as Rc<dyn Any>));
    h
}

/// Asks `W`'s worker (spawning it on first use) and waits for its answer. Fails only when
/// the worker went away (dismissed, or it could not load).
pub async fn ask<W: Job>(request: W::Request) -> Result<W::Answer, String> {
    ask_on::<W>(0, request).await
}

/// [`ask`], of the `slot`th worker of `W`'s kind (several run side by side). The request is
/// sent now; the future waits for the answer.
pub fn ask_on<W: Job>(
    slot: usize,
    request: W::Request,
) -> impl std::future::Future<Output = Result<W::Answer, String>> {
    let h = helper::<W>(slot);
    let id = h.next.get();
    h.next.set(id.wrapping_add(1));
    let (tx, rx) = oneshot::channel();
    h.waiting.borrow_mut().insert(id, tx);
    h.bridge.send((id, request));
    async move {
        rx.await
            .map_err(|_| format!("the {} worker stopped before it answered", W::BUNDLE))
    }
}

/// Ends `W`'s worker and whatever it holds (an unlocked key): the page that used it is
/// gone. Requests still waiting fail.
pub fn dismiss<W: Job>() {
    HELPERS.with_borrow_mut(|all| all.retain(|(bundle, _), _| *bundle != W::BUNDLE));
}
