//! A task done in the browser in one go (making a trustee's keys and enrolling them, a
//! ceremony turn) as one state machine: the same steps, and the same words while working
//! or refused, for every such form. The page carries the work out when [`Task::step`]
//! says to start it, and reports its progress and outcome as events.
//!
//! | phase          | event        | starts the work | then           |
//! |----------------|--------------|-----------------|----------------|
//! | Loading        | Alive        | no              | Ready          |
//! | Ready, Failed  | Start        | yes             | Working        |
//! | Finished       | Start, again | yes             | Working        |
//! | Finished       | Start, once  | no              | Finished       |
//! | Working        | Progress     | no              | Working (words)|
//! | Working        | Done(Ok)     | no              | Finished       |
//! | Working        | Done(Err)    | no              | Failed         |
//! | any other      | any other    | no              | unchanged      |
//!
//! `again` is for a task a page repeats (a ceremony takes several turns); a task done once
//! (an enrolment) stays finished.

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

/// Something that happened to a task.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) enum TaskEvent<T> {
    /// The page came alive.
    Alive,
    /// The form was sent: `again` when the page repeats the task.
    Start { again: bool },
    /// The step the work is at, in words.
    Progress(String),
    /// What the work came to, or why not.
    Done(Result<T, String>),
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl<T> Task<T> {
    /// Whether the form's buttons wait (not alive yet, or working).
    pub(crate) fn busy(&self) -> bool {
        matches!(self, Self::Loading | Self::Working(_))
    }

    /// Takes one event (see the module's table): whether to start the work now.
    pub(crate) fn step(&mut self, event: TaskEvent<T>) -> bool {
        let (next, start) = match (std::mem::replace(self, Self::Loading), event) {
            (Self::Loading, TaskEvent::Alive) => (Self::Ready, false),
            (Self::Ready | Self::Failed(_), TaskEvent::Start { .. })
            | (Self::Finished(_), TaskEvent::Start { again: true }) => {
                (Self::Working("Working…".into()), true)
            }
            (Self::Working(_), TaskEvent::Progress(words)) => (Self::Working(words), false),
            (Self::Working(_), TaskEvent::Done(Ok(t))) => (Self::Finished(t), false),
            (Self::Working(_), TaskEvent::Done(Err(why))) => (Self::Failed(why), false),
            (same, _) => (same, false),
        };
        *self = next;
        start
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

/// Moves the task in `task` on: whether to start the work now.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) fn send<T: Send + Sync + 'static>(task: RwSignal<Task<T>>, event: TaskEvent<T>) -> bool {
    task.try_update(|t| t.step(event)).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    type T = Task<u8>;

    fn row(from: T, event: TaskEvent<u8>, start: bool, then: T) {
        let mut task = from.clone();
        assert_eq!(task.step(event.clone()), start, "{from:?} on {event:?}");
        assert_eq!(task, then, "{from:?} on {event:?}");
    }

    #[test]
    fn a_page_come_alive_is_ready() {
        row(T::Loading, TaskEvent::Alive, false, T::Ready);
    }

    #[test]
    fn the_work_starts_from_ready_or_after_a_refusal() {
        for from in [T::Ready, T::Failed("no".into())] {
            row(
                from,
                TaskEvent::Start { again: false },
                true,
                T::Working("Working…".into()),
            );
        }
    }

    #[test]
    fn a_repeated_task_starts_again_a_task_done_once_does_not() {
        row(
            T::Finished(1),
            TaskEvent::Start { again: true },
            true,
            T::Working("Working…".into()),
        );
        row(
            T::Finished(1),
            TaskEvent::Start { again: false },
            false,
            T::Finished(1),
        );
    }

    #[test]
    fn the_work_says_its_step() {
        row(
            T::Working("a".into()),
            TaskEvent::Progress("b".into()),
            false,
            T::Working("b".into()),
        );
    }

    #[test]
    fn the_work_finishes_or_is_refused() {
        row(
            T::Working("a".into()),
            TaskEvent::Done(Ok(7)),
            false,
            T::Finished(7),
        );
        row(
            T::Working("a".into()),
            TaskEvent::Done(Err("why".into())),
            false,
            T::Failed("why".into()),
        );
    }

    #[test]
    fn a_second_click_or_a_report_not_waited_for_changes_nothing() {
        let cases = [
            (T::Loading, TaskEvent::Start { again: true }),
            (T::Working("a".into()), TaskEvent::Start { again: true }),
            (T::Ready, TaskEvent::Done(Ok(1))),
            (T::Ready, TaskEvent::Progress("x".into())),
            (T::Finished(1), TaskEvent::Done(Err("x".into()))),
            (T::Ready, TaskEvent::Alive),
        ];
        for (from, event) in cases {
            row(from.clone(), event, false, from);
        }
        assert!(T::Loading.busy() && T::Working("a".into()).busy());
        assert!(!T::Finished(1).busy());
    }
}
