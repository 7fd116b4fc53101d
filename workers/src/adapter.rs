//! What a provider call answers, whichever adapter made it: the leaf that
//! `produce`, the adapters and the steps after a call (`calls`, `outcome`,
//! `runner`, `polling`) all read, so none of them imports another for its types.

use electrons_domain::{catalog::ModelConfig, limiter::Observation};

use crate::{outputs::Outputs, ProviderError};

/// What a text model produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TextCompletion {
    pub text: String,
    pub finish_reason: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub provider_request_id: Option<String>,
}

pub enum Produced {
    Text(TextCompletion),
    Files(Outputs),
    /// The provider accepted the work and gave it this id; poll it for the result.
    Operation {
        id: String,
    },
}

/// One call's result, and the provider's report on its limits if it answered.
pub struct Called {
    pub result: Result<Produced, ProviderError>,
    pub observation: Observation,
}

impl Called {
    pub(crate) fn without_report(result: Result<Produced, ProviderError>) -> Self {
        Self {
            result,
            observation: Observation::default(),
        }
    }
}

/// What polling a long-running operation found.
pub enum Progress {
    /// Still working; the provider's word for where it is.
    Pending { status: Option<String> },
    /// Boxed: a finished answer is far larger than the other variants.
    Done(Box<Outputs>),
    /// The provider gave up on it, with its reason.
    Failed { reason: String },
}

pub(crate) fn mismatch(model: &ModelConfig) -> ProviderError {
    // The catalog derives the input rules from the same API, so this is a bug.
    ProviderError::Refused(format!("model {} cannot take this input", model.id))
}
