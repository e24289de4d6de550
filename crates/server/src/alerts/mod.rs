//! Alerts: the evaluator that runs every project's rules on their intervals
//! ([`runner`]), what a rule measures ([`measure`]), how its groups change state
//! ([`transition`]) and the notifications it sends ([`notify`]). Rules, states and history
//! live in the store (`tracehouse_store_api::alerts`); the API's `/api/v1/alerts` routes
//! manage them.

pub mod measure;
pub mod notify;
pub mod runner;
pub mod transition;

use std::time::Duration;

/// How the server evaluates alerts and delivers their notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// How often the evaluator looks for due rules (and renews its lease).
    pub tick: Duration,
    /// How long a lease lasts unrenewed: another server takes over evaluation once the
    /// holder has not renewed it for this long.
    pub lease_ttl: Duration,
    /// Longest one webhook attempt may take.
    pub webhook_timeout: Duration,
    /// Attempts per notification and channel.
    pub webhook_attempts: u32,
    /// Wait before the second attempt, doubled before each next one.
    pub webhook_backoff: Duration,
    /// The UI's address as people reach it, for links in notifications (default: the API
    /// listener's address).
    pub public_url: Option<String>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            tick: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(30),
            webhook_timeout: Duration::from_secs(10),
            webhook_attempts: 4,
            webhook_backoff: Duration::from_secs(1),
            public_url: None,
        }
    }
}
