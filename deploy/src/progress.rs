//! What the operator sees while stacks change: a spinner per stack in
//! flight (indicatif, on a terminal), one line per resource event, and the
//! questions before a change set runs. It also knows what is in flight, for
//! the message after Ctrl-C.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Asks the operator a yes/no question.
pub trait Confirm: Send + Sync {
    fn confirm(&self, question: &str) -> bool;

    /// Whether someone reads the questions (false for `--yes`).
    fn asks(&self) -> bool {
        true
    }
}

/// `--yes`: every question answered yes.
pub struct AssumeYes;

impl Confirm for AssumeYes {
    fn confirm(&self, _question: &str) -> bool {
        true
    }

    fn asks(&self) -> bool {
        false
    }
}

/// Asks on the terminal; anything but y/yes (or end of input) is no.
pub struct AskOnTerminal;

impl Confirm for AskOnTerminal {
    fn confirm(&self, question: &str) -> bool {
        eprint!("{question} [y/N] ");
        let mut answer = String::new();
        match std::io::stdin().lock().read_line(&mut answer) {
            Ok(0) | Err(_) => {
                eprintln!();
                false
            }
            Ok(_) => matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
        }
    }
}

pub struct Progress {
    bars: MultiProgress,
    confirm: Box<dyn Confirm>,
    /// One question at a time, even with stacks deploying in parallel.
    asking: tokio::sync::Mutex<()>,
    in_flight: Mutex<BTreeMap<String, String>>,
}

impl Progress {
    /// Spinners on stderr when it is a terminal; plain lines otherwise.
    pub fn new(confirm: Box<dyn Confirm>) -> Progress {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            bars: MultiProgress::with_draw_target(target),
            confirm,
            asking: tokio::sync::Mutex::new(()),
            in_flight: Mutex::new(BTreeMap::new()),
        }
    }

    /// Prints a line above the spinners.
    pub fn line(&self, text: impl AsRef<str>) {
        if self.bars.is_hidden() {
            eprintln!("{}", text.as_ref());
        } else {
            // Fails only when the terminal is gone; nothing better to do then.
            let _ = self.bars.println(text.as_ref());
        }
    }

    /// Asks `question` (unless `--yes`), with the spinners paused.
    pub async fn confirm(&self, question: &str) -> bool {
        let _one_at_a_time = self.asking.lock().await;
        tokio::task::block_in_place(|| self.bars.suspend(|| self.confirm.confirm(question)))
    }

    /// Whether questions reach someone (not `--yes`).
    pub fn asks(&self) -> bool {
        self.confirm.asks()
    }

    /// A spinner for `stack`, which is now in flight doing `phase`.
    pub fn start(&self, stack: &str, phase: &str) -> StackProgress<'_> {
        let bar = self.bars.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                .expect("a valid progress template"),
        );
        bar.set_prefix(stack.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        let progress = StackProgress {
            progress: self,
            stack: stack.to_owned(),
            bar,
        };
        progress.phase(phase);
        progress
    }

    /// What is in flight: stack -> what it is doing.
    pub fn in_flight(&self) -> BTreeMap<String, String> {
        self.in_flight.lock().expect("progress lock").clone()
    }
}

/// One stack's spinner; the stack leaves the in-flight list when dropped.
pub struct StackProgress<'a> {
    progress: &'a Progress,
    stack: String,
    bar: ProgressBar,
}

impl StackProgress<'_> {
    /// The stack is now doing `phase` (creating a change set, executing it, ...).
    pub fn phase(&self, phase: &str) {
        self.progress
            .in_flight
            .lock()
            .expect("progress lock")
            .insert(self.stack.clone(), phase.to_owned());
        self.bar.set_message(phase.to_owned());
    }

    /// The latest thing that happened, shown on the spinner line.
    pub fn status(&self, text: &str) {
        self.bar.set_message(text.to_owned());
    }

    pub fn line(&self, text: impl AsRef<str>) {
        self.progress.line(text);
    }

    pub async fn confirm(&self, question: &str) -> bool {
        self.progress.confirm(question).await
    }

    pub fn asks(&self) -> bool {
        self.progress.asks()
    }
}

impl Drop for StackProgress<'_> {
    fn drop(&mut self) {
        self.progress
            .in_flight
            .lock()
            .expect("progress lock")
            .remove(&self.stack);
        self.bar.finish_and_clear();
        self.progress.bars.remove(&self.bar);
    }
}
