//! What every page's state machine shares: an event in, the effects to carry out, with
//! no browser and no clock (so each is tested natively); and driving one kept in a signal.

use leptos::prelude::*;

/// A page's workflow as a state machine.
pub(crate) trait Machine {
    /// What happens to it: a button, an answer from a worker or the server.
    type Event;
    /// What a move asks of the browser.
    type Effect;
    /// Takes one event; the effects to carry out.
    fn step(&mut self, event: Self::Event) -> Vec<Self::Effect>;
}

/// Moves the machine kept in `state` on with `event`, then carries out each effect it asks
/// for (whose answers come back as further events).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) fn drive<M>(state: RwSignal<M>, event: M::Event, mut carry_out: impl FnMut(M::Effect))
where
    M: Machine + Send + Sync + 'static,
{
    for effect in state.try_update(|m| m.step(event)).unwrap_or_default() {
        carry_out(effect);
    }
}
