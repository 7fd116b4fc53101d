//! Image generation, one file per provider. OpenAI and Ideogram return links
//! (which expire, so they are copied into storage); Gemini returns the image
//! inline, base64-encoded in its JSON.

pub mod gemini;
pub mod ideogram;
pub mod openai;
