//! Booking providers: who holds a reservation. [`HouseProvider`] is Luna's own inventory, whose
//! seats the store takes inside its transaction, so the agent never calls it over the network.
//! [`ExternalProvider`] stands in for a remote reservation API: it answers after a configurable
//! latency, fails a configurable share of calls and leaves some unanswered past the agent's
//! timeout (having reserved anyway, as a real API may), all drawn from a seeded generator. It
//! is idempotent per booking id, as a good remote API is, so a retry after a lost answer does
//! not reserve twice, and `cancel` undoes a reservation the agent never heard about.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use domain::{Booking, BookingId};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::settings::ExternalSettings;

/// Why a provider call failed (always worth a retry: the agent decides how often).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("provider unavailable: {0}")]
pub struct ProviderError(pub String);

/// A place reservations are made.
#[async_trait]
pub trait BookingProvider: Send + Sync {
    /// Recorded on every booking it holds (`house`, `external`...).
    fn name(&self) -> &str;
    /// Whether its seats are Luna's own, taken by the store transaction itself.
    fn is_house(&self) -> bool;
    /// Reserves the booking's seats; returns the provider's reference. Idempotent per id.
    async fn reserve(&self, booking: &Booking) -> Result<String, ProviderError>;
    /// Cancels a reservation (a no-op if there is none).
    async fn cancel(&self, booking_id: BookingId) -> Result<(), ProviderError>;
}

/// Luna's own inventory.
#[derive(Debug, Default)]
pub struct HouseProvider;

#[async_trait]
impl BookingProvider for HouseProvider {
    fn name(&self) -> &str {
        "house"
    }

    fn is_house(&self) -> bool {
        true
    }

    async fn reserve(&self, booking: &Booking) -> Result<String, ProviderError> {
        Ok(booking.confirmation_code.clone())
    }

    async fn cancel(&self, _booking_id: BookingId) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// What the stand-in decided for one call.
enum Fate {
    Answer,
    Fail,
    Hang,
}

/// The remote reservation API stand-in.
pub struct ExternalProvider {
    settings: ExternalSettings,
    rng: Mutex<ChaCha8Rng>,
    /// Reservations it holds: booking id to reference.
    reservations: Mutex<HashMap<BookingId, String>>,
}

impl ExternalProvider {
    pub fn new(settings: ExternalSettings) -> Self {
        let rng = Mutex::new(ChaCha8Rng::seed_from_u64(settings.seed));
        Self { settings, rng, reservations: Mutex::new(HashMap::new()) }
    }

    /// The reservations it holds now (for tests and the demo).
    pub fn reservations(&self) -> Vec<BookingId> {
        let mut ids: Vec<_> = self.reservations.lock().unwrap_or_else(|p| p.into_inner()).keys().copied().collect();
        ids.sort();
        ids
    }

    fn draw(&self) -> (Duration, Fate) {
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let s = &self.settings;
        let latency = s.latency_ms + if s.jitter_ms > 0 { rng.random_range(0..=s.jitter_ms) } else { 0 };
        let x: f64 = rng.random();
        let fate = if x < s.failure_rate {
            Fate::Fail
        } else if x < s.failure_rate + s.timeout_rate {
            Fate::Hang
        } else {
            Fate::Answer
        };
        (Duration::from_millis(latency), fate)
    }

    fn hold(&self, id: BookingId, reference: String) -> String {
        self.reservations.lock().unwrap_or_else(|p| p.into_inner()).entry(id).or_insert(reference).clone()
    }
}

#[async_trait]
impl BookingProvider for ExternalProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn is_house(&self) -> bool {
        false
    }

    async fn reserve(&self, booking: &Booking) -> Result<String, ProviderError> {
        let (latency, fate) = self.draw();
        tokio::time::sleep(latency).await;
        let reference = format!("EXT-{}", booking.id.simple());
        match fate {
            Fate::Answer => Ok(self.hold(booking.id, reference)),
            Fate::Fail => Err(ProviderError("the reservation service answered 503".into())),
            Fate::Hang => {
                // Reserved remotely, but the answer comes too late for the caller.
                self.hold(booking.id, reference);
                tokio::time::sleep(Duration::from_millis(self.settings.timeout_ms.saturating_mul(10).max(1000))).await;
                Err(ProviderError("the reservation service answered too late".into()))
            }
        }
    }

    async fn cancel(&self, booking_id: BookingId) -> Result<(), ProviderError> {
        let (latency, _) = self.draw();
        tokio::time::sleep(latency).await;
        self.reservations.lock().unwrap_or_else(|p| p.into_inner()).remove(&booking_id);
        Ok(())
    }
}
