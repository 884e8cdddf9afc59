//! The certificate view: the domain and key size of a new certificate, key generation's
//! progress, the texts of a certificate and key to load, and the credentials in use.

use std::rc::Rc;

use pushproxy_cert::{DnsName, KeyGenProgress, KeySize};
use yew::Reducible;

use crate::model::credentials::{self, Credentials};

/// Where key generation is.
#[derive(Clone, Debug, PartialEq)]
pub enum Generation {
    /// Not running.
    Idle,
    /// Running since `started_ms`.
    Running {
        /// `Date.now()` when it started.
        started_ms: f64,
        /// How far it has come.
        progress: KeyGenProgress,
    },
    /// Finished in `elapsed_ms`.
    Done {
        /// How long it took.
        elapsed_ms: f64,
        /// Prime candidates tested.
        candidates: u64,
    },
    /// Failed.
    Failed(String),
}

/// The certificate view's state.
#[derive(Clone, Debug, PartialEq)]
pub struct CertState {
    /// The organisation's domain for a new certificate, as typed.
    pub domain: String,
    /// The key size of a new certificate.
    pub key_size: KeySize,
    /// Key generation.
    pub generation: Generation,
    /// A certificate to load: PEM or base64 DER.
    pub certificate_text: String,
    /// Its private key to load, PEM (optional).
    pub key_text: String,
    /// Why the last load failed.
    pub load_error: Option<String>,
    /// The certificate in use.
    pub credentials: Option<Rc<Credentials>>,
}

impl Default for CertState {
    fn default() -> Self {
        Self {
            domain: "contoso.com".to_owned(),
            key_size: KeySize::Bits2048,
            generation: Generation::Idle,
            certificate_text: String::new(),
            key_text: String::new(),
            load_error: None,
            credentials: None,
        }
    }
}

impl CertState {
    /// The domain, checked.
    pub fn domain(&self) -> Result<DnsName, String> {
        self.domain.trim().parse().map_err(|e| format!("{e}"))
    }

    /// Whether a key is being generated.
    pub fn is_generating(&self) -> bool {
        matches!(self.generation, Generation::Running { .. })
    }
}

/// What can happen in the certificate view.
#[derive(Debug)]
pub enum CertAction {
    /// The domain was edited.
    SetDomain(String),
    /// Another key size was chosen.
    SetKeySize(KeySize),
    /// Key generation started.
    GenerationStarted {
        /// `Date.now()`.
        at_ms: f64,
    },
    /// Key generation moved forward.
    GenerationProgress(KeyGenProgress),
    /// The key and certificate are ready.
    Generated {
        /// The new credentials.
        credentials: Rc<Credentials>,
        /// `Date.now()`.
        at_ms: f64,
    },
    /// Key generation or certificate creation failed.
    GenerationFailed(String),
    /// The certificate text was edited.
    SetCertificateText(String),
    /// The key text was edited.
    SetKeyText(String),
    /// A certificate file was read.
    CertificateFile(Vec<u8>),
    /// A key file was read.
    KeyFile(Vec<u8>),
    /// Load the certificate and key texts.
    Load,
    /// Forget the certificate in use.
    Clear,
}

impl Reducible for CertState {
    type Action = CertAction;

    fn reduce(self: Rc<Self>, action: CertAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            CertAction::SetDomain(domain) => next.domain = domain,
            CertAction::SetKeySize(size) => next.key_size = size,
            CertAction::GenerationStarted { at_ms } => {
                next.generation = Generation::Running {
                    started_ms: at_ms,
                    progress: KeyGenProgress {
                        primes_found: 0,
                        candidates_tested: 0,
                    },
                };
            }
            CertAction::GenerationProgress(progress) => {
                if let Generation::Running { started_ms, .. } = next.generation {
                    next.generation = Generation::Running {
                        started_ms,
                        progress,
                    };
                }
            }
            CertAction::Generated { credentials, at_ms } => {
                let (elapsed_ms, candidates) = match next.generation {
                    Generation::Running {
                        started_ms,
                        progress,
                    } => (at_ms - started_ms, progress.candidates_tested),
                    _ => (0.0, 0),
                };
                next.generation = Generation::Done {
                    elapsed_ms,
                    candidates,
                };
                next.credentials = Some(credentials);
                next.load_error = None;
            }
            CertAction::GenerationFailed(error) => next.generation = Generation::Failed(error),
            CertAction::SetCertificateText(text) => next.certificate_text = text,
            CertAction::SetKeyText(text) => next.key_text = text,
            CertAction::CertificateFile(bytes) => {
                match credentials::certificate_file_text(&bytes) {
                    Ok(text) => {
                        next.certificate_text = text;
                        next.load_error = None;
                    }
                    Err(error) => next.load_error = Some(error),
                }
            }
            CertAction::KeyFile(bytes) => match credentials::key_file_text(&bytes) {
                Ok(text) => {
                    next.key_text = text;
                    next.load_error = None;
                }
                Err(error) => next.load_error = Some(error),
            },
            CertAction::Load => match Credentials::load(&next.certificate_text, &next.key_text) {
                Ok(credentials) => {
                    next.credentials = Some(Rc::new(credentials));
                    next.load_error = None;
                }
                Err(error) => next.load_error = Some(error),
            },
            CertAction::Clear => next.credentials = None,
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::credentials::tests::{generated, key_pem};

    fn apply(state: CertState, actions: Vec<CertAction>) -> Rc<CertState> {
        actions
            .into_iter()
            .fold(Rc::new(state), |state, action| state.reduce(action))
    }

    #[test]
    fn generation_reports_progress_then_the_result() {
        let credentials = Rc::new(generated());
        let state = apply(
            CertState::default(),
            vec![
                CertAction::GenerationStarted { at_ms: 1000.0 },
                CertAction::GenerationProgress(KeyGenProgress {
                    primes_found: 1,
                    candidates_tested: 40,
                }),
            ],
        );
        assert!(state.is_generating());
        let state = state.reduce(CertAction::Generated {
            credentials: credentials.clone(),
            at_ms: 1800.0,
        });
        assert_eq!(
            state.generation,
            Generation::Done {
                elapsed_ms: 800.0,
                candidates: 40
            }
        );
        assert!(!state.is_generating());
        assert_eq!(state.credentials.as_ref(), Some(&credentials));
    }

    #[test]
    fn progress_outside_a_generation_is_ignored() {
        let state = apply(
            CertState::default(),
            vec![CertAction::GenerationProgress(KeyGenProgress {
                primes_found: 1,
                candidates_tested: 1,
            })],
        );
        assert_eq!(state.generation, Generation::Idle);
    }

    #[test]
    fn the_domain_is_checked() {
        let state = apply(
            CertState::default(),
            vec![CertAction::SetDomain(" Fabrikam.com ".to_owned())],
        );
        assert_eq!(state.domain().unwrap().as_str(), "fabrikam.com");
        let state = state.reduce(CertAction::SetDomain("not a domain".to_owned()));
        assert!(state.domain().is_err());
    }

    #[test]
    fn loading_uses_the_texts_and_reports_errors() {
        let credentials = generated();
        let der = credentials.certificate.der().to_vec();
        let state = apply(
            CertState::default(),
            vec![
                CertAction::CertificateFile(der),
                CertAction::SetKeyText(key_pem().to_owned()),
                CertAction::Load,
            ],
        );
        assert_eq!(state.load_error, None);
        let loaded = state.credentials.as_ref().unwrap();
        assert_eq!(loaded.certificate, credentials.certificate);
        assert!(loaded.key.is_some());

        let state = state.reduce(CertAction::SetCertificateText("garbage".to_owned()));
        let state = state.reduce(CertAction::Load);
        assert!(
            state
                .load_error
                .as_deref()
                .unwrap()
                .starts_with("certificate:")
        );
        // The credentials in use stay until something better is loaded.
        assert!(state.credentials.is_some());
        let state = state.reduce(CertAction::KeyFile(b"nonsense".to_vec()));
        assert!(
            state
                .load_error
                .as_deref()
                .unwrap()
                .starts_with("key file:")
        );
        let state = state.reduce(CertAction::Clear);
        assert!(state.credentials.is_none());
    }
}
