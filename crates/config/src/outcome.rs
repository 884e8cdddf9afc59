//! What an operation did: [`Outcome`], [`Change`] and the [`Message`]s to show.

use core::fmt;

use serde::{Deserialize, Serialize};

/// How serious a [`Message`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// Progress, printed as is (PowerShell's `Write-Host`).
    Info,
    /// Something the administrator should know, printed as `WARNING: ...`
    /// (PowerShell's `Write-Warning`).
    Warning,
}

/// A line an operation asks its caller to show.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// How serious it is.
    pub level: Level,
    /// The text, without the `WARNING: ` prefix.
    pub text: String,
}

impl Message {
    /// An informational message.
    pub fn info(text: impl Into<String>) -> Self {
        Message {
            level: Level::Info,
            text: text.into(),
        }
    }

    /// A warning.
    pub fn warning(text: impl Into<String>) -> Self {
        Message {
            level: Level::Warning,
            text: text.into(),
        }
    }
}

/// Prints the message as a console shows it: warnings as `WARNING: text`, the rest as is.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            Level::Info => f.write_str(&self.text),
            Level::Warning => write!(f, "WARNING: {}", self.text),
        }
    }
}

/// Whether an operation changed the object it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Change {
    /// The object did not exist (or the field was empty) and was created.
    Created,
    /// The object existed and was changed.
    Updated,
    /// The object already was as asked; nothing was changed.
    Unchanged,
}

/// What an operation did: the [`Change`] and the messages to show, in order.
///
/// Every operation of this crate is idempotent: running it a second time with the same inputs
/// returns [`Change::Unchanged`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// What happened to the object.
    pub change: Change,
    /// The lines to show, in order.
    pub messages: Vec<Message>,
}

impl Outcome {
    /// An outcome without messages.
    pub fn new(change: Change) -> Self {
        Outcome {
            change,
            messages: Vec::new(),
        }
    }

    /// Adds a message.
    #[must_use]
    pub fn with(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Whether the object was created or updated (so it must be saved).
    pub fn changed(&self) -> bool {
        self.change != Change::Unchanged
    }

    /// Whether any message is a warning.
    pub fn has_warnings(&self) -> bool {
        self.messages.iter().any(|m| m.level == Level::Warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_print_with_prefix() {
        assert_eq!(Message::info("Complete.").to_string(), "Complete.");
        assert_eq!(
            Message::warning("Something is off.").to_string(),
            "WARNING: Something is off."
        );
    }

    #[test]
    fn outcome_reports_change_and_warnings() {
        let o = Outcome::new(Change::Unchanged).with(Message::info("a"));
        assert!(!o.changed());
        assert!(!o.has_warnings());
        let o = Outcome::new(Change::Updated).with(Message::warning("b"));
        assert!(o.changed());
        assert!(o.has_warnings());
        assert!(Outcome::new(Change::Created).changed());
    }
}
