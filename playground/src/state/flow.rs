//! The flow view: a script of inputs, the steps the engine and the simulated cloud record
//! for it, and how many of them are shown.

use std::rc::Rc;

use yew::Reducible;

use crate::model::credentials::Credentials;
use crate::model::flow_sim::{CloudIdentity, DEFAULT_SCRIPT, FlowInput, FlowStep, simulate};

/// The flow view's state.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowState {
    /// The certificate whose key signs the proxy's tokens.
    pub credentials: Option<Rc<Credentials>>,
    /// The token service's signing identity, once made.
    pub cloud: Option<Rc<CloudIdentity>>,
    /// Whether the token service's key is being generated.
    pub preparing: bool,
    /// Why the token service's key could not be made.
    pub cloud_error: Option<String>,
    /// Draws the tenant id and key ids of the simulated cloud.
    pub seed: u64,
    /// When the simulation starts, Unix milliseconds.
    pub start_ms: u64,
    /// The user's inputs.
    pub script: Vec<FlowInput>,
    /// The recorded steps, or why the flow cannot run.
    pub steps: Result<Rc<Vec<FlowStep>>, String>,
    /// How many steps are shown (1 = the first).
    pub shown: usize,
}

/// What can happen in the flow view.
#[derive(Debug)]
pub enum FlowAction {
    /// Another certificate is in use; the flow starts over at `start_ms`.
    Credentials {
        /// The credentials.
        credentials: Option<Rc<Credentials>>,
        /// Unix milliseconds.
        start_ms: u64,
    },
    /// The token service's key is being generated.
    CloudPreparing,
    /// The token service's identity is ready.
    CloudReady(Rc<CloudIdentity>),
    /// The token service's identity could not be made.
    CloudFailed(String),
    /// Add an input at the end of the script and show the steps it adds.
    Add(FlowInput),
    /// Show one more step.
    Next,
    /// Show one step less.
    Back,
    /// Show every step.
    End,
    /// Show only the first step.
    Start,
    /// Go back to the default script, from `start_ms`.
    Reset {
        /// Unix milliseconds.
        start_ms: u64,
    },
}

impl FlowState {
    /// The default script from `start_ms`, without credentials or cloud identity yet.
    pub fn new(start_ms: u64, seed: u64) -> Self {
        let mut state = Self {
            credentials: None,
            cloud: None,
            preparing: false,
            cloud_error: None,
            seed,
            start_ms,
            script: DEFAULT_SCRIPT.to_vec(),
            steps: Ok(Rc::new(Vec::new())),
            shown: 1,
        };
        state.run();
        state
    }

    fn run(&mut self) {
        self.steps = match (&self.credentials, &self.cloud) {
            (None, _) => Err(
                "The flow signs the proxy's assertion with your certificate: generate or load one (with its private key) on the Certificate tab first."
                    .to_owned(),
            ),
            (Some(_), None) => Err(self.cloud_error.clone().unwrap_or_else(|| {
                "The local cloud's token service is creating its RSA signing key (once per page)…"
                    .to_owned()
            })),
            (Some(credentials), Some(cloud)) => {
                simulate(credentials, cloud, self.seed, self.start_ms, &self.script).map(Rc::new)
            }
        };
    }

    /// Whether the token service's key still has to be made (and is not being made).
    pub fn needs_cloud(&self) -> bool {
        self.cloud.is_none() && !self.preparing && self.cloud_error.is_none()
    }

    /// How many steps were recorded.
    pub fn total(&self) -> usize {
        self.steps.as_ref().map_or(0, |s| s.len())
    }

    /// The step shown last.
    pub fn current(&self) -> Option<&FlowStep> {
        self.steps
            .as_ref()
            .ok()
            .and_then(|steps| steps.get(self.shown.checked_sub(1)?))
    }
}

impl Reducible for FlowState {
    type Action = FlowAction;

    fn reduce(self: Rc<Self>, action: FlowAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            FlowAction::Credentials {
                credentials,
                start_ms,
            } => {
                next.credentials = credentials;
                next.start_ms = start_ms;
                next.run();
                next.shown = 1;
            }
            FlowAction::CloudPreparing => next.preparing = true,
            FlowAction::CloudReady(cloud) => {
                next.cloud = Some(cloud);
                next.preparing = false;
                next.cloud_error = None;
                next.run();
                next.shown = 1;
            }
            FlowAction::CloudFailed(error) => {
                next.preparing = false;
                next.cloud_error = Some(format!(
                    "The local cloud's token service could not make its key: {error}"
                ));
                next.run();
            }
            FlowAction::Add(input) => {
                let before = next.total();
                next.script.push(input);
                next.run();
                // Show everything up to the last step the new input added.
                next.shown = next.total().max(before.min(next.shown)).max(1);
            }
            FlowAction::Next => next.shown = (next.shown + 1).min(next.total().max(1)),
            FlowAction::Back => next.shown = next.shown.saturating_sub(1).max(1),
            FlowAction::End => next.shown = next.total().max(1),
            FlowAction::Start => next.shown = 1,
            FlowAction::Reset { start_ms } => {
                next.start_ms = start_ms;
                next.script = DEFAULT_SCRIPT.to_vec();
                next.run();
                next.shown = 1;
            }
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::credentials::tests::generated;
    use crate::model::flow_sim::Actor;
    use crate::model::flow_sim::tests::cloud;

    const START: u64 = 1_772_366_400_000;

    fn ready() -> Rc<FlowState> {
        Rc::new(FlowState::new(START, 5))
            .reduce(FlowAction::Credentials {
                credentials: Some(Rc::new(generated())),
                start_ms: START,
            })
            .reduce(FlowAction::CloudPreparing)
            .reduce(FlowAction::CloudReady(Rc::new(cloud())))
    }

    #[test]
    fn without_credentials_the_flow_says_what_to_do() {
        let state = FlowState::new(START, 5);
        assert!(
            state
                .steps
                .as_ref()
                .unwrap_err()
                .contains("Certificate tab")
        );
        assert_eq!(state.total(), 0);
        assert!(state.current().is_none());
        assert!(state.needs_cloud());
    }

    #[test]
    fn the_flow_waits_for_the_cloud_key_and_reports_its_failure() {
        let state = Rc::new(FlowState::new(START, 5)).reduce(FlowAction::Credentials {
            credentials: Some(Rc::new(generated())),
            start_ms: START,
        });
        assert!(
            state
                .steps
                .as_ref()
                .unwrap_err()
                .contains("creating its RSA signing key")
        );
        let state = state.reduce(FlowAction::CloudPreparing);
        assert!(!state.needs_cloud());
        let failed = state
            .clone()
            .reduce(FlowAction::CloudFailed("no randomness".to_owned()));
        assert!(failed.steps.as_ref().unwrap_err().contains("no randomness"));
        assert!(!failed.needs_cloud());
        let ready = state.reduce(FlowAction::CloudReady(Rc::new(cloud())));
        assert!(ready.total() > 10);
        assert!(!ready.preparing);
    }

    #[test]
    fn stepping_stays_within_the_recorded_steps() {
        let state = ready();
        let total = state.total();
        assert!(total > 10);
        assert_eq!(state.shown, 1);
        let state = state.reduce(FlowAction::Back);
        assert_eq!(state.shown, 1);
        let state = state.reduce(FlowAction::Next).reduce(FlowAction::Next);
        assert_eq!(state.shown, 3);
        let state = state.reduce(FlowAction::End);
        assert_eq!(state.shown, total);
        let state = state.reduce(FlowAction::Next);
        assert_eq!(state.shown, total);
        assert_eq!(state.current().unwrap().badges, vec![Some(1), Some(1)]);
        let state = state.reduce(FlowAction::Start);
        assert_eq!(state.shown, 1);
    }

    #[test]
    fn adding_an_input_runs_it_and_shows_its_steps() {
        let state = ready().reduce(FlowAction::End);
        let before = state.total();
        let state = state
            .reduce(FlowAction::Add(FlowInput::MailArrives))
            .reduce(FlowAction::Add(FlowInput::Wait));
        assert!(state.total() > before);
        assert_eq!(state.shown, state.total());
        let last = state.current().unwrap();
        assert_eq!(last.badges, vec![Some(2), Some(2)]);
        assert_eq!(last.actor, Actor::Engine);

        let state = state.reduce(FlowAction::Reset { start_ms: START });
        assert_eq!(state.script, DEFAULT_SCRIPT.to_vec());
        assert_eq!(state.total(), before);
        assert_eq!(state.shown, 1);
    }
}
