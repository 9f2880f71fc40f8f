//! The booking agent: names a booking (id, confirmation code, provider, agent), takes the seats
//! through the store and, for an external provider, asks it with bounded retries and timeouts.
//!
//! With the house provider one store transaction checks capacity and books. With an external
//! one the agent runs two transactions around the remote call: (1) hold the seats as a
//! `pending` booking, (2) confirm it once the provider said yes, or release it (delete the hold,
//! cancel anything the provider may have reserved, free the idempotency key) after the last
//! failed attempt. Nothing half-made survives a failure. If the process dies between (1) and
//! (2), the hold stays pending until the janitor releases it after `hold_ttl_secs` (and cancels
//! it at the provider), and its in-flight key is freed at the same age. So does a hold whose
//! confirmation got no answer from the database (`StoreError::OutcomeUnknown`): it may have
//! been confirmed, so its table is not cancelled at the provider.

use std::sync::Arc;
use std::time::Duration;

use domain::{Booked, BookingStatus, SeatOutcome, SeatRequest};
use store::{DynStore, IdempotencyKey, Idempotent, NewBooking, StoreError};

use super::provider::{BookingProvider, ExternalProvider, HouseProvider};
use super::settings::{BookingSettings, ExternalSettings, ProviderKind};
use crate::{AppError, AppResult};

/// The agent name bookings made through the booking endpoints and plans record.
pub const AGENT: &str = "booking_agent";
/// The agent name of auto-booked group bookings.
pub const AUTO_BOOK_AGENT: &str = "auto_book_agent";
/// Draws of a confirmation code before giving up (a collision is about one in 887 million).
const CODE_ATTEMPTS: usize = 5;

/// Books through one provider.
pub struct BookingAgent {
    provider: Arc<dyn BookingProvider>,
    external: ExternalSettings,
}

impl BookingAgent {
    /// The agent the settings ask for.
    pub fn from_settings(s: &BookingSettings) -> Self {
        let provider: Arc<dyn BookingProvider> = match s.provider {
            ProviderKind::House => Arc::new(HouseProvider),
            ProviderKind::External => Arc::new(ExternalProvider::new(s.external.clone())),
        };
        Self::with_provider(provider, s.external.clone())
    }

    /// An agent on any provider; `external` sets its timeouts and retries.
    pub fn with_provider(provider: Arc<dyn BookingProvider>, external: ExternalSettings) -> Self {
        Self { provider, external }
    }

    pub fn provider(&self) -> &Arc<dyn BookingProvider> {
        &self.provider
    }

    /// A booking of `request`, named afresh (each attempt draws a new id and code).
    pub fn name_booking(&self, request: SeatRequest, agent: &str) -> NewBooking {
        let status = if self.provider.is_house() { BookingStatus::Confirmed } else { BookingStatus::Pending };
        named(request, self.provider.name(), agent, status)
    }

    /// Takes the seats of `request` (see the module doc). A full slot is `Ok(SeatOutcome::Full)`.
    pub async fn book(
        &self,
        store: &DynStore,
        request: SeatRequest,
        key: Option<IdempotencyKey>,
    ) -> AppResult<Idempotent<SeatOutcome>> {
        let answer = with_fresh_codes(|| store.book(self.name_booking(request.clone(), AGENT), key.clone())).await?;
        match answer {
            Idempotent::Fresh(SeatOutcome::Booked(held)) if held.booking.status == BookingStatus::Pending => {
                Ok(Idempotent::Fresh(SeatOutcome::Booked(self.complete_hold(store, held, key).await?)))
            }
            other => Ok(other),
        }
    }

    /// Asks the provider for a held booking, then confirms or releases it.
    async fn complete_hold(&self, store: &DynStore, held: Booked, key: Option<IdempotencyKey>) -> AppResult<Booked> {
        let id = held.booking.id;
        let timeout = Duration::from_millis(self.external.timeout_ms.max(1));
        let attempts = self.external.max_attempts.max(1);
        let mut last_error = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                let backoff = self.external.backoff_ms.saturating_mul(1 << (attempt - 1).min(10));
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
            match tokio::time::timeout(timeout, self.provider.reserve(&held.booking)).await {
                Ok(Ok(_reference)) => {
                    return match store.confirm_hold(id, key.clone()).await {
                        Ok(booked) => Ok(booked),
                        // The database stopped answering after the confirmation's COMMIT was
                        // sent: it may have been saved (PostgreSQL commits it when it resumes).
                        // Cancelling the provider's table now could leave a confirmed booking
                        // with none, so the hold is left as it is: confirmed, it keeps its table;
                        // still pending, the janitor cancels it at the provider and releases it
                        // once it is `hold_ttl_secs` old.
                        Err(e @ StoreError::OutcomeUnknown(_)) => {
                            tracing::warn!(%id, error = %e, "hold confirmation unanswered; left to the janitor");
                            Err(e.into())
                        }
                        Err(e) => {
                            // The hold expired meanwhile, or the confirmation failed otherwise (a
                            // group member deleted, the database down): undo the remote
                            // reservation, and give the seats and the key back at once rather
                            // than when the janitor finds the hold stale.
                            self.cancel_remote(id).await;
                            if let Err(released) = store.release_hold(id, "confirm_failed", key).await {
                                tracing::warn!(%id, error = %released, "hold not released; the janitor will");
                            }
                            Err(e.into())
                        }
                    };
                }
                Ok(Err(e)) => last_error = e.to_string(),
                Err(_) => last_error = format!("no answer within {} ms", timeout.as_millis()),
            }
            tracing::debug!(%id, attempt, error = %last_error, "provider attempt failed");
        }
        self.cancel_remote(id).await;
        store.release_hold(id, "provider_failed", key).await?;
        Err(AppError::Unavailable(format!(
            "{} did not confirm after {attempts} attempts ({last_error}); nothing was booked",
            self.provider.name()
        )))
    }

    /// Gives a booking's table back at the outside provider, if that provider holds it (a house
    /// booking, or one of another provider, has nothing there).
    pub async fn give_back(&self, booking: &domain::Booking) {
        if !self.provider.is_house() && booking.provider == self.provider.name() {
            self.cancel_remote(booking.id).await;
        }
    }

    /// Cancels at the provider whatever it may hold for `id`, with the same bounded patience.
    pub async fn cancel_remote(&self, id: domain::BookingId) {
        let timeout = Duration::from_millis(self.external.timeout_ms.max(1));
        for _ in 0..self.external.max_attempts.max(1) {
            if let Ok(Ok(())) = tokio::time::timeout(timeout, self.provider.cancel(id)).await {
                return;
            }
        }
        tracing::warn!(%id, provider = self.provider.name(), "could not cancel at the provider");
    }
}

/// A booking of `request` with a fresh id and confirmation code.
pub fn named(request: SeatRequest, provider: &str, agent: &str, status: BookingStatus) -> NewBooking {
    NewBooking {
        id: domain::new_id(),
        confirmation_code: domain::confirmation::generate(&mut rand::rng()),
        provider: provider.to_string(),
        agent: agent.to_string(),
        status,
        request,
        refuse_double: true,
    }
}

/// Runs a store write, drawing new confirmation codes while the one drawn is taken.
pub async fn with_fresh_codes<T, F, Fut>(mut write: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    for _ in 0..CODE_ATTEMPTS {
        match write().await {
            Err(StoreError::Conflict { field: Some(f), .. }) if f == "confirmation_code" => continue,
            other => return other.map_err(AppError::from),
        }
    }
    Err(AppError::Internal(format!("no free confirmation code in {CODE_ATTEMPTS} draws")))
}
