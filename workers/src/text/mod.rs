//! Text generation: what the text adapters share (the token estimate the
//! limits reserve, the `max_tokens` sent). Each provider is one file
//! implementing `Adapter`; every text API but Anthropic's is OpenAI-compatible.

pub mod anthropic;
mod anthropic_tools;
pub mod openai;
pub mod streaming;

/// `max_tokens` of the request, and what a call is estimated to use against
/// token limits, are the domain's: the producer's budget reservation and the
/// worker's rate limits must agree on them.
pub use electrons_domain::usage::{estimated_tokens, max_tokens};
