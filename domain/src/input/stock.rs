//! Stock-media search input (Pexels-style): a query, filters and paging, and how
//! many of the top results to copy into our storage so links outlive the search.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_one_of, check_range, check_text, deserialize, FieldError};

pub(super) const MAX_QUERY_CHARS: usize = 200;
const MAX_PAGE: u32 = 1000;
pub(super) const MAX_PER_PAGE: u32 = 80;
const DEFAULT_PER_PAGE: u32 = 15;
pub(super) const MAX_DOWNLOAD: u32 = 5;
const DEFAULT_DOWNLOAD: u32 = 1;

pub(super) const ORIENTATIONS: &[&str] = &["landscape", "portrait", "square"];
pub(super) const SIZES: &[&str] = &["large", "medium", "small"];

/// Input of a stock-media search job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockInput {
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// How many of the top results to copy into our storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<u32>,
    /// Seconds; videos only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration: Option<u32>,
    /// Seconds; videos only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<u32>,
    /// Generate the output again (a new, billed attempt) if the provider no
    /// longer has it when it is copied, rather than fail `output_unavailable`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regenerate_if_unavailable: bool,
}

impl StockInput {
    pub fn parse(value: &Value) -> Result<Self, FieldError> {
        let input: StockInput = deserialize(value)?;
        input.validate()?;
        Ok(input)
    }

    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1)
    }

    pub fn per_page(&self) -> u32 {
        self.per_page.unwrap_or(DEFAULT_PER_PAGE)
    }

    pub fn download(&self) -> u32 {
        self.download.unwrap_or(DEFAULT_DOWNLOAD)
    }

    fn validate(&self) -> Result<(), FieldError> {
        check_text("input.query", &self.query, MAX_QUERY_CHARS)?;
        if let Some(orientation) = &self.orientation {
            check_one_of("input.orientation", &orientation.as_str(), ORIENTATIONS, "")?;
        }
        if let Some(size) = &self.size {
            check_one_of("input.size", &size.as_str(), SIZES, "")?;
        }
        if let Some(page) = self.page {
            check_range("input.page", page, 1, MAX_PAGE)?;
        }
        if let Some(per_page) = self.per_page {
            check_range("input.per_page", per_page, 1, MAX_PER_PAGE)?;
        }
        if let Some(download) = self.download {
            check_range("input.download", download, 0, MAX_DOWNLOAD)?;
            if download > self.per_page() {
                return Err(FieldError::invalid(
                    "input.download",
                    format!("must not exceed per_page ({})", self.per_page()),
                ));
            }
        }
        for (field, seconds) in [
            ("input.min_duration", self.min_duration),
            ("input.max_duration", self.max_duration),
        ] {
            if seconds == Some(0) {
                return Err(FieldError::invalid(field, "must be at least 1 second"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_duration, self.max_duration) {
            if min > max {
                return Err(FieldError::invalid(
                    "input.max_duration",
                    format!("must not be less than min_duration ({min})"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_a_query_with_defaults() {
        let input = StockInput::parse(&json!({"query": "forest"})).expect("valid");
        assert_eq!((input.page(), input.per_page(), input.download()), (1, 15, 1));
        let value = json!({
            "query": "city at night", "orientation": "portrait", "size": "small", "page": 1000,
            "per_page": 3, "download": 3, "min_duration": 5, "max_duration": 5,
        });
        let input = StockInput::parse(&value).expect("valid");
        assert_eq!((input.page(), input.per_page(), input.download()), (1000, 3, 3));
        assert_eq!(serde_json::to_value(&input).ok(), Some(value));
        let input = StockInput::parse(&json!({"query": "sea", "download": 0})).expect("valid");
        assert_eq!(input.download(), 0);
    }

    #[test]
    fn names_the_bad_field() {
        let cases = [
            (json!({}), "input.query", "missing_field"),
            (json!({"query": ""}), "input.query", "invalid_field"),
            (json!({"query": "q".repeat(201)}), "input.query", "invalid_field"),
            (
                json!({"query": "q", "orientation": "wide"}),
                "input.orientation",
                "invalid_field",
            ),
            (json!({"query": "q", "size": "huge"}), "input.size", "invalid_field"),
            (json!({"query": "q", "page": 0}), "input.page", "invalid_field"),
            (json!({"query": "q", "page": 1001}), "input.page", "invalid_field"),
            (json!({"query": "q", "per_page": 0}), "input.per_page", "invalid_field"),
            (json!({"query": "q", "per_page": 81}), "input.per_page", "invalid_field"),
            (json!({"query": "q", "download": 6}), "input.download", "invalid_field"),
            (
                json!({"query": "q", "per_page": 2, "download": 3}),
                "input.download",
                "invalid_field",
            ),
            (
                json!({"query": "q", "min_duration": 0}),
                "input.min_duration",
                "invalid_field",
            ),
            (
                json!({"query": "q", "max_duration": 0}),
                "input.max_duration",
                "invalid_field",
            ),
            (
                json!({"query": "q", "min_duration": 10, "max_duration": 5}),
                "input.max_duration",
                "invalid_field",
            ),
            (json!({"query": "q", "page": -1}), "input.page", "invalid_field"),
            (json!({"query": "q", "color": "red"}), "input.color", "invalid_field"),
        ];
        for (value, field, code) in cases {
            let err = StockInput::parse(&value).expect_err("invalid");
            assert_eq!((err.field.as_str(), err.code), (field, code), "{value}: {err}");
        }
    }
}
