//! Text generation: what the text adapters share (the token estimate the
//! limits reserve, the `max_tokens` sent). Each provider is one file
//! implementing `Adapter`; every text API but Anthropic's is OpenAI-compatible.

pub mod anthropic;
pub mod openai;

use electrons_domain::{catalog::ModelConfig, input::TextInput};

/// What a call will cost against token limits before it is made: the prompt
/// (about four characters a token, plus each message's framing) and the most
/// it may write. Settling afterwards corrects the estimate to the real usage.
pub fn estimated_tokens(model: &ModelConfig, input: &TextInput) -> (u64, u64) {
    let conversation = input.conversation();
    let characters: usize = input.system.as_deref().map_or(0, |s| s.chars().count())
        + conversation.iter().map(|m| m.content.chars().count()).sum::<usize>();
    let framing = 4 * (conversation.len() + usize::from(input.system.is_some())) + 3;
    (
        characters.div_ceil(4) as u64 + framing as u64,
        u64::from(max_tokens(model, input)),
    )
}

/// `max_tokens` of the request: the job's, else the model's default.
fn max_tokens(model: &ModelConfig, input: &TextInput) -> u32 {
    input
        .max_tokens
        .unwrap_or(model.default_max_tokens)
        .min(model.max_output_tokens)
}
