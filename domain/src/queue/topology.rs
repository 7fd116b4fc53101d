//! The one declaration of exchanges, queues and bindings. Every role declares it
//! at start-up (declarations are idempotent), so any role may start first.

use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
    Channel, ExchangeKind,
};

use crate::{config::BrokerSettings, job::Modality};

#[derive(Clone, Debug)]
pub struct Topology {
    prefix: String,
    queue_expires_ms: Option<u32>,
}

impl Topology {
    pub fn new(settings: &BrokerSettings) -> Self {
        Self {
            prefix: settings.prefix.clone(),
            queue_expires_ms: settings.queue_expires_ms,
        }
    }

    /// Topic exchange the producer and scheduler publish to, routing key = modality.
    pub fn exchange(&self) -> String {
        format!("{}.jobs", self.prefix)
    }

    pub fn queue(&self, modality: Modality) -> String {
        format!("{}.jobs.{}", self.prefix, modality.as_str())
    }

    /// Webhook deliveries that are due, published through the default exchange.
    pub fn webhook_queue(&self) -> String {
        format!("{}.webhooks", self.prefix)
    }

    /// Where messages no worker can process (unparseable, unknown) end up.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                self.exchange().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .exchange_declare(
                self.dead_letter_exchange().into(),
                ExchangeKind::Fanout,
                durable,
                FieldTable::default(),
            )
            .await?;

        let queue_options = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .queue_declare(self.dead_letter_queue().into(), queue_options, self.expiry_arguments())
            .await?;
        channel
            .queue_bind(
                self.dead_letter_queue().into(),
                self.dead_letter_exchange().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        channel
            .queue_declare(
                self.webhook_queue().into(),
                queue_options,
                self.dead_lettering_arguments(),
            )
            .await?;

        for modality in Modality::ALL {
            let mut arguments = self.dead_lettering_arguments();
            arguments.insert("x-max-priority".into(), AMQPValue::ShortShortUInt(2));
            channel
                .queue_declare(self.queue(*modality).into(), queue_options, arguments)
                .await?;
            channel
                .queue_bind(
                    self.queue(*modality).into(),
                    self.exchange().into(),
                    modality.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }

    fn dead_lettering_arguments(&self) -> FieldTable {
        let mut arguments = self.expiry_arguments();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.dead_letter_exchange().into()),
        );
        arguments
    }

    fn expiry_arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        if let Some(ms) = self.queue_expires_ms {
            arguments.insert("x-expires".into(), AMQPValue::LongUInt(ms));
        }
        arguments
    }
}
