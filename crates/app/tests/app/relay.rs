//! The outbox relay on a real store: a row it cannot read is set aside, not retried forever.

use app::relay::relay_once;
use domain::DomainEvent;
use testdb::Backend;

use crate::{fresh_app, user};

crate::on_every_backend!(an_unreadable_outbox_row_is_set_aside_and_the_relay_carries_on);

/// Before, the relay failed on such a row at every pass, so no event after it ever went out.
async fn an_unreadable_outbox_row_is_set_aside_and_the_relay_carries_on(backend: Backend) {
    let Some((db, app)) = fresh_app(backend).await else { return };
    app.create_user(user("ann")).await.unwrap();
    app.store.record_event(DomainEvent::DataReset).await.unwrap();
    app.create_user(user("bob")).await.unwrap();
    // A type this version does not know, as a newer server sharing the database may write.
    db.execute("UPDATE outbox SET event_type = 'no.such.event' WHERE event_type = 'data.reset'").await.unwrap();

    let dealt = relay_once(&app.store, &app.bus).await.expect("the relay carries on past the row");
    assert_eq!(dealt, 3, "two events published, one row set aside");
    let published: u64 = app.bus.published_counts().iter().map(|(_, n)| n).sum();
    assert_eq!(published, 2, "both users' events went out");
    let counts = app.store.counts().await.unwrap();
    assert_eq!((counts.outbox_pending, counts.outbox_dead), (0, 1));
    let dead = db.texts("SELECT event_type FROM outbox WHERE dead_at IS NOT NULL AND dead_reason <> ''").await.unwrap();
    assert_eq!(dead, ["no.such.event"], "the row is kept, with its reason");
    assert_eq!(relay_once(&app.store, &app.bus).await, Ok(0), "nothing left, and no error");
}
