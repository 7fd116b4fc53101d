//! The provider simulator: a real HTTP server that speaks each provider's wire
//! format — exactly as strict as the real API about what it accepts, answering
//! and failing in the provider's own shapes — used by tests, the benchmark and
//! the offline demo instead of the real providers. Every provider is served at
//! the root of one base URL:
//!
//! | endpoint (recorded as) | route |
//! |---|---|
//! | `openai.chat` | `POST /v1/chat/completions` |
//! | `anthropic.messages` | `POST /v1/messages` |
//! | `openai.images` | `POST /v1/images/generations` (DALL·E 2 / 3) |
//! | `ideogram.generate` | `POST /generate` |
//! | `gemini.generate_content` | `POST /v1beta/models/{model}:generateContent` (image output) |
//! | `gemini.predict_long_running` | `POST /v1beta/models/{model}:predictLongRunning` (Veo) |
//! | `gemini.operation` | `GET /v1beta/models/{model}/operations/{id}` |
//! | `gemini.download` | `GET /v1beta/files/{id}:download?alt=media` |
//! | `elevenlabs.tts` | `POST /v1/text-to-speech/{voice_id}?output_format=…` |
//! | `pexels.videos`, `pexels.photos` | `GET /videos/search`, `GET /v1/search` |
//! | `shotstack.render`, `shotstack.status` | `POST /edit/{env}/render`, `GET /edit/{env}/render/{id}` (also without `/edit`) |
//! | `forge.generate`, `forge.images` | `POST /forge/v1/generate`, `POST /forge/v1/images` (a made-up API for the generic HTTP provider) |
//! | `forge.task_submit`, `forge.task` | `POST /forge/v1/tasks`, `GET /forge/v1/tasks/{id}` |
//!
//! Media answers carry real bytes: PNGs drawn at the requested size, and small
//! but valid MP4, MP3 and JPEG fixtures (`assets/`). Links in answers point at
//! `GET /_sim/files/{id}.{ext}` on the host the request came in on, served
//! without authentication like a provider's CDN. Shotstack renders and Veo
//! generations are long-running operations that advance with time over a
//! configurable duration ([`Controls::set_operation_duration`], 1 s by default).
//!
//! Faults (latency, 5xx, 429 with `retry-after`, hangs, malformed or truncated
//! bodies) are switched on globally, as a script for the next requests, or per
//! request by a `[[sim:…]]` directive in the request's text (the prompt, the text
//! to speak, the search query, any string of a Shotstack edit); see [`Controls`]
//! and [`Fault`]. Other directives shape outputs: `[[sim:operation_ms=N]]`,
//! `[[sim:operation_fail]]` / `[[sim:operation_fail=REASON]]`, `[[sim:file_404]]`,
//! `[[sim:file_bytes=N]]` and `[[sim:empty]]` (a search with no results). Account
//! rate limits ([`AccountLimits`]) run down token buckets that the OpenAI and
//! Anthropic endpoints report in their own rate-limit headers, and can be
//! enforced with 429s; the other providers' limits are not modelled.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use electrons_simulator::{Fault, Simulator};
//!
//! let sim = Simulator::start("127.0.0.1:0".parse().expect("address")).await?;
//! sim.controls().push_script([Fault::Status { status: 500 }]);
//! // point a client at sim.base_url(): its first call fails with a 500, then all succeed
//! # Ok(()) }
//! ```

mod account;
mod control;
mod controls;
mod directives;
mod faults;
mod files;
mod media;
mod operations;
mod providers;
mod recent;
mod server;
mod stats;
mod window;

pub use account::AccountLimits;
pub use controls::Controls;
pub use faults::Fault;
pub use server::{Simulator, SimulatorHandle};
pub use stats::RecordedRequest;
