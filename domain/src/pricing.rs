//! What a model's provider charges, in the units it bills (tokens, images by
//! size and quality, characters, seconds of video, requests), and what a call's
//! [`Usage`] came to under it. A model's `pricing` column holds one of these as
//! JSON; a price left out means the model does not bill in that unit, while a
//! model with no price at all is *unpriced*, which a budgeted project cannot run
//! (spend that cannot be priced cannot be kept under a budget).

use serde::{Deserialize, Serialize};

use crate::usage::Usage;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_usd_per_mtok: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_usd_per_mtok: Option<f64>,
    /// Per image of the provider's default size and quality, and of any size
    /// and quality no entry of `image_prices` matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_image: Option<f64>,
    /// Per image of one size and/or quality (DALL·E 3: HD 1792×1024 costs three
    /// times standard 1024×1024).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_prices: Vec<ImagePrice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_1k_characters: Option<f64>,
    /// Per second of video generated or rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_second: Option<f64>,
    /// Per billed request, on top of any other unit (a stock-media search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_request: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePrice {
    /// Matches any size when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Matches any quality when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    pub usd: f64,
}

/// Why a pricing cannot be saved, naming the field.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidPricing {
    pub field: String,
    pub message: &'static str,
}

impl Pricing {
    /// Whether any price is set (0 is a price: a free API is priced).
    pub fn is_priced(&self) -> bool {
        self.unit_prices().iter().any(|(_, price)| price.is_some()) || !self.image_prices.is_empty()
    }

    /// Prices are finite and not negative.
    pub fn validate(&self) -> Result<(), InvalidPricing> {
        let bad = |field: String| InvalidPricing {
            field,
            message: "must be a finite number of US dollars, 0 or more",
        };
        for (name, price) in self.unit_prices() {
            if price.is_some_and(|p| !p.is_finite() || p < 0.0) {
                return Err(bad(format!("pricing.{name}")));
            }
        }
        for (i, entry) in self.image_prices.iter().enumerate() {
            if !entry.usd.is_finite() || entry.usd < 0.0 {
                return Err(bad(format!("pricing.image_prices[{i}].usd")));
            }
        }
        Ok(())
    }

    fn unit_prices(&self) -> [(&'static str, Option<f64>); 6] {
        [
            ("input_usd_per_mtok", self.input_usd_per_mtok),
            ("output_usd_per_mtok", self.output_usd_per_mtok),
            ("usd_per_image", self.usd_per_image),
            ("usd_per_1k_characters", self.usd_per_1k_characters),
            ("usd_per_second", self.usd_per_second),
            ("usd_per_request", self.usd_per_request),
        ]
    }

    /// What `usage` costs. Units the pricing does not bill cost nothing.
    pub fn cost_usd(&self, usage: &Usage) -> f64 {
        let per = |count: Option<f64>, price: Option<f64>| count.unwrap_or(0.0) * price.unwrap_or(0.0);
        let images = usage.images.map_or(0.0, |n| {
            f64::from(n) * self.image_price(usage.image_size.as_deref(), usage.image_quality.as_deref())
        });
        per(usage.input_tokens.map(|t| t as f64), self.input_usd_per_mtok) / 1e6
            + per(usage.output_tokens.map(|t| t as f64), self.output_usd_per_mtok) / 1e6
            + images
            + per(usage.characters.map(|c| c as f64), self.usd_per_1k_characters) / 1e3
            + per(usage.video_seconds, self.usd_per_second)
            + per(usage.requests.map(f64::from), self.usd_per_request)
    }

    /// One image of `size` and `quality` (`None`: the provider's default). An
    /// entry matches when every dimension it names is the image's, and a
    /// dimension the job left to the provider only matches entries that leave
    /// it out too; the most specific match wins (the dearest of a tie), and
    /// `usd_per_image` is the price of the provider's default image and of any
    /// no entry matches.
    pub fn image_price(&self, size: Option<&str>, quality: Option<&str>) -> f64 {
        let fits = |wanted: Option<&str>, entry: &Option<String>| match (wanted, entry) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(wanted), Some(entry)) => wanted == entry,
        };
        let specificity = |entry: &ImagePrice| usize::from(entry.size.is_some()) + usize::from(entry.quality.is_some());
        let matching: Vec<&ImagePrice> = self
            .image_prices
            .iter()
            .filter(|e| fits(size, &e.size) && fits(quality, &e.quality))
            .collect();
        let Some(best) = matching.iter().map(|e| specificity(e)).max() else {
            return self.usd_per_image.unwrap_or(0.0);
        };
        matching
            .iter()
            .filter(|e| specificity(e) == best)
            .map(|e| e.usd)
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dall_e_3() -> Pricing {
        let price = |size: Option<&str>, quality: Option<&str>, usd| ImagePrice {
            size: size.map(Into::into),
            quality: quality.map(Into::into),
            usd,
        };
        Pricing {
            // 1024x1024 standard, the API's default.
            usd_per_image: Some(0.04),
            image_prices: vec![
                price(Some("1792x1024"), None, 0.08),
                price(None, Some("hd"), 0.08),
                price(Some("1792x1024"), Some("hd"), 0.12),
            ],
            ..Pricing::default()
        }
    }

    #[test]
    fn images_cost_what_their_size_and_quality_cost() {
        let pricing = dall_e_3();
        assert_eq!(pricing.image_price(Some("1792x1024"), Some("hd")), 0.12);
        assert_eq!(pricing.image_price(Some("1024x1024"), Some("standard")), 0.04);
        assert_eq!(pricing.image_price(Some("1024x1024"), Some("hd")), 0.08);
        // What the provider picks when the job does not say is the flat price.
        assert_eq!(pricing.image_price(None, None), 0.04);
        assert_eq!(pricing.image_price(Some("1792x1024"), None), 0.08);
        assert_eq!(pricing.image_price(None, Some("hd")), 0.08);
        // Standard is the default quality: an entry naming it is not needed.
        assert_eq!(pricing.image_price(Some("1792x1024"), Some("standard")), 0.08);
        let usage = Usage {
            images: Some(3),
            image_size: Some("1792x1024".into()),
            image_quality: Some("hd".into()),
            ..Usage::default()
        };
        assert!((pricing.cost_usd(&usage) - 0.36).abs() < 1e-12);
    }

    #[test]
    fn every_unit_is_billed_at_its_price() {
        let pricing = Pricing {
            input_usd_per_mtok: Some(0.15),
            output_usd_per_mtok: Some(0.60),
            usd_per_1k_characters: Some(0.30),
            usd_per_second: Some(0.40),
            usd_per_request: Some(0.001),
            ..Pricing::default()
        };
        let usage = Usage {
            input_tokens: Some(1_000_000),
            output_tokens: Some(500_000),
            characters: Some(2_000),
            video_seconds: Some(8.0),
            requests: Some(1),
            ..Usage::default()
        };
        let expected = 0.15 + 0.30 + 0.60 + 3.2 + 0.001;
        assert!((pricing.cost_usd(&usage) - expected).abs() < 1e-9);
        assert!(pricing.is_priced());
    }

    #[test]
    fn a_free_api_is_priced_and_an_empty_pricing_is_not() {
        assert!(!Pricing::default().is_priced());
        let free = Pricing {
            usd_per_request: Some(0.0),
            ..Pricing::default()
        };
        assert!(free.is_priced());
        assert_eq!(free.cost_usd(&Usage::request()), 0.0);
    }

    #[test]
    fn negative_or_infinite_prices_are_refused_by_field() {
        let negative = Pricing {
            usd_per_second: Some(-1.0),
            ..Pricing::default()
        };
        assert_eq!(
            negative.validate().map_err(|e| e.field),
            Err("pricing.usd_per_second".to_string())
        );
        let mut images = dall_e_3();
        images.image_prices[2].usd = f64::INFINITY;
        assert_eq!(
            images.validate().map_err(|e| e.field),
            Err("pricing.image_prices[2].usd".to_string())
        );
        assert_eq!(dall_e_3().validate(), Ok(()));
        assert!(serde_json::from_str::<Pricing>(r#"{"usd_per_token": 1}"#).is_err());
    }
}
