//! Speech. ElevenLabs answers with the audio itself, streamed into storage as
//! it arrives.

pub mod elevenlabs;
