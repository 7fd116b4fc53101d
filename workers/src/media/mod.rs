//! Stock media search. Results come back as metadata; the first `download` of
//! them are copied into storage, so the job keeps the files it chose.

pub mod pexels;
