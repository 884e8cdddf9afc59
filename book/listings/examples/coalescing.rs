//! The engine at work: a burst of new mail becomes one badge update with the final count,
//! and a cleared inbox is published as 0.

use std::error::Error;
use std::time::Duration;

use pushproxy_book_listings::{NOW, TENANT_ID};
use pushproxy_engine::{
    Engine, EngineConfig, Event, MailboxHandle, PublishOutcome, TenantConfig, Timestamp,
};
use pushproxy_payload::{Recipient, UnseenCount};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

pub fn main() -> Result<()> {
    let mut now = Timestamp::from_secs(NOW.unsigned_abs());
    let (mut engine, inbox) = setup(now)?;
    now = burst(&mut engine, inbox, now)?;
    clear(&mut engine, inbox, now)?;
    Ok(())
}

// ANCHOR: setup
/// An engine with one tenant, one mailbox and one device. It never reads a clock: `now` is
/// whatever the driver says it is.
fn setup(now: Timestamp) -> Result<(Engine, MailboxHandle)> {
    let mut engine = Engine::new(EngineConfig::default())?;
    let tenant = engine.add_tenant(TenantConfig::new(TENANT_ID.parse()?), now)?;
    // It asks for a token first; the driver fetches one and hands it over.
    assert_eq!(engine.poll_event(), Some(Event::NeedToken { tenant }));
    let token = "eyJ0eXAiOiJKV1QifQ.e30.c2ln".parse()?;
    engine.handle_token(tenant, token, now + Duration::from_secs(3600), now)?;
    let inbox = engine.add_mailbox(tenant, UnseenCount::ZERO)?;
    let phone = Recipient::new("com.microsoft.exchange.mowa".parse()?, "ab12cd34".parse()?);
    engine.subscribe(inbox, &phone, now)?;
    Ok((engine, inbox))
}
// ANCHOR_END: setup

// ANCHOR: burst
/// Twenty messages arrive within a second and the user reads two: one batch, count 18.
fn burst(engine: &mut Engine, inbox: MailboxHandle, mut now: Timestamp) -> Result<Timestamp> {
    for _ in 0..20 {
        engine.handle_message_arrived(inbox, now)?;
        now = now + Duration::from_millis(50);
    }
    engine.handle_message_read(inbox, now)?;
    engine.handle_message_read(inbox, now)?;
    // Nothing leaves inside the coalescing window; the engine says when to look again.
    assert!(engine.poll_transmit(now).is_none());
    now = engine.poll_timeout().ok_or("a batch is waiting")?;
    engine.handle_timeout(now);
    let transmit = engine.poll_transmit(now).ok_or("the batch is due")?;
    println!("{}", String::from_utf8(transmit.body.clone())?);
    // The subscription queued the device; every change after that found it already waiting.
    let stats = engine.stats();
    println!(
        "queued {} time(s), {} change(s) absorbed, {} batch(es) built",
        stats.queued, stats.coalesced, stats.batches_built
    );
    // The driver POSTs the body with `transmit.token` and reports the answer.
    let accepted = PublishOutcome::Accepted { dead: Vec::new() };
    engine.handle_publish_result(transmit.id, accepted, now);
    Ok(now)
}
// ANCHOR_END: burst

// ANCHOR: zero
/// Later the user reads everything: 0 is news too, and goes out like any other count.
fn clear(engine: &mut Engine, inbox: MailboxHandle, mut now: Timestamp) -> Result<()> {
    now = now + Duration::from_secs(60);
    engine.handle_unseen_count(inbox, UnseenCount::ZERO, now)?;
    now = engine.poll_timeout().ok_or("a batch is waiting")?;
    engine.handle_timeout(now);
    let transmit = engine.poll_transmit(now).ok_or("the clear is due")?;
    println!("{}", String::from_utf8(transmit.body.clone())?);
    let accepted = PublishOutcome::Accepted { dead: Vec::new() };
    engine.handle_publish_result(transmit.id, accepted, now);
    assert_eq!(engine.stats().published_batches, 2);
    Ok(())
}
// ANCHOR_END: zero
