//! How far a task done in the browser has got (making or opening a key, making codes): the
//! same steps, and the same words while working or refused, for every such form.

use leptos::prelude::*;

/// A browser task's progress; `T` is what it came to.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) enum Task<T> {
    /// Waiting for the page to come alive (the form needs WebAssembly).
    Loading,
    /// Ready for input.
    Ready,
    /// Working, in words.
    Working(String),
    /// A refusal, in words.
    Failed(String),
    /// Finished, with what it came to.
    Finished(T),
}

impl<T> Task<T> {
    /// Whether the form's buttons wait (not alive yet, or working).
    pub(crate) fn busy(&self) -> bool {
        matches!(self, Self::Loading | Self::Working(_))
    }

    /// The line a form shows while working or refused.
    pub(crate) fn status(&self) -> Option<AnyView> {
        match self {
            Self::Working(text) => {
                Some(view! { <p class="notice" role="status">{text.clone()}</p> }.into_any())
            }
            Self::Failed(text) => {
                Some(view! { <p class="error" role="alert">{text.clone()}</p> }.into_any())
            }
            _ => None,
        }
    }
}
