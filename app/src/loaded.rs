//! One way to show what a page loads: a notice while it loads, then the page made from it,
//! or the page's heading with the server's refusal in words (and, on an account's pages, a
//! way to sign in).

use crate::notice;
use leptos::prelude::*;

/// The page `page` makes of `data` once it has loaded; `loading` says what is loading
/// meanwhile ("Loading the chain…"). A refusal shows under the heading `title`, with a
/// link to sign in when `sign_in` (the pages of a signed-in account).
pub fn loaded<T, V>(
    data: Resource<Result<T, ServerFnError>>,
    loading: &'static str,
    title: &'static str,
    sign_in: bool,
    page: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=move || view! { <p class="notice">{loading}</p> }>
            {move || {
                let page = page.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(value) => page(value).into_any(),
                        Err(e) => view! {
                            <h1>{title}</h1>
                            <p class="error" role="alert">{notice::server_error_text(&e)}</p>
                            {sign_in.then(|| view! { <p><a href="/login">"Sign in"</a></p> })}
                        }
                        .into_any(),
                    }
                })
            }}
        </Transition>
    }
}
