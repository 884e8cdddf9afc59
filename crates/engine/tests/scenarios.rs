//! The engine driven through whole scenarios with simulated time.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Harness, count, counts_in, recipient};
use pushproxy_engine::{
    BearerToken, EngineConfig, Event, FailureReason, MailboxChange, PublishOutcome, Timestamp,
    backoff_ceiling,
};
use pushproxy_payload::wire::{DeadDevice, DeadReason};

const WINDOW: Duration = Duration::from_secs(2);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---- counts reach devices ----

#[test]
fn new_mail_raises_the_count_on_every_device_and_reading_lowers_it_to_zero() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(0);
    for device in ["aa01", "aa02", "aa03"] {
        h.subscribe(inbox, device);
    }
    h.run_accepting(Duration::from_secs(10));
    assert!(
        h.devices.values().all(|&c| c == 0),
        "new subscriptions get the current count"
    );

    h.engine.handle_message_arrived(inbox, h.now).unwrap();
    h.engine.handle_message_arrived(inbox, h.now).unwrap();
    h.run_accepting(Duration::from_secs(10));
    assert_eq!(h.devices.values().copied().collect::<Vec<_>>(), [2, 2, 2]);

    h.engine.handle_message_read(inbox, h.now).unwrap();
    h.run_accepting(Duration::from_secs(10));
    assert_eq!(h.devices.values().copied().collect::<Vec<_>>(), [1, 1, 1]);

    h.engine.handle_message_read(inbox, h.now).unwrap();
    let sent = h.run_accepting(Duration::from_secs(10));
    assert_eq!(
        sent.len(),
        1,
        "reading the last unseen message is published"
    );
    assert_eq!(
        counts_in(&sent[0]).values().copied().collect::<Vec<_>>(),
        [0, 0, 0]
    );
    assert_eq!(h.devices.values().copied().collect::<Vec<_>>(), [0, 0, 0]);
}

#[test]
fn a_zero_is_sent_even_when_nothing_seems_to_change() {
    // The badge-clear bug: a clear must never be skipped as "nothing to do".
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(0);
    h.subscribe(inbox, "aa01");
    h.run_accepting(Duration::from_secs(10));
    h.engine
        .handle_unseen_count(inbox, count(0), h.now)
        .unwrap();
    let sent = h.run_accepting(Duration::from_secs(10));
    assert_eq!(sent.len(), 1);
    assert_eq!(counts_in(&sent[0])["aa01"], 0);
    // A read when the count is already zero (the source and the engine disagreed) also
    // sends the zero again.
    h.engine.handle_message_read(inbox, h.now).unwrap();
    assert_eq!(h.run_accepting(Duration::from_secs(10)).len(), 1);
}

#[test]
fn deleting_messages_changes_the_count_only_when_they_were_unseen() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(3);
    h.subscribe(inbox, "aa01");
    h.run_accepting(Duration::from_secs(10));
    h.engine
        .handle_message_deleted(inbox, false, h.now)
        .unwrap();
    assert_eq!(
        h.engine.queue_depth(),
        0,
        "deleting a seen message changes nothing"
    );
    h.engine
        .handle_mailbox_change(inbox, MailboxChange::Deleted { was_unseen: true }, h.now)
        .unwrap();
    assert_eq!(h.engine.unseen(inbox).unwrap(), count(2));
    h.run_accepting(Duration::from_secs(10));
    assert_eq!(h.devices["aa01"], 2);
}

#[test]
fn arrivals_stop_at_the_largest_count_the_wire_carries() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(99_999);
    h.engine.handle_message_arrived(inbox, h.now).unwrap();
    assert_eq!(h.engine.unseen(inbox).unwrap(), count(99_999));
}

// ---- coalescing and batching ----

#[test]
fn a_burst_of_ten_thousand_changes_is_one_publish_with_the_final_count() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(0);
    h.subscribe(inbox, "aa01");
    h.run_accepting(Duration::from_secs(10));

    let start = h.now;
    for i in 0..10_000u32 {
        // Spread over 1.9 s, inside the 2 s window; the last change is a set to a known value.
        h.now = start + ms(u64::from(i) * 190 / 1000);
        if i % 3 == 0 {
            h.engine.handle_message_read(inbox, h.now).unwrap();
        } else {
            h.engine.handle_message_arrived(inbox, h.now).unwrap();
        }
        assert!(
            h.engine.poll_transmit(h.now).is_none(),
            "nothing goes out inside the window"
        );
    }
    h.engine
        .handle_unseen_count(inbox, count(4242), h.now)
        .unwrap();
    assert_eq!(
        h.engine.queue_depth(),
        1,
        "one entry, whatever the event rate"
    );

    let sent = h.run_accepting(Duration::from_secs(10));
    assert_eq!(sent.len(), 1);
    assert_eq!(counts_in(&sent[0])["aa01"], 4242);
    assert!(sent[0].deadline >= start + WINDOW);
    let stats = h.engine.stats();
    assert_eq!(
        stats.coalesced, 10_000,
        "all but the first change were absorbed"
    );
}

#[test]
fn a_batch_waits_for_the_window_of_its_oldest_entry() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(0);
    h.subscribe(inbox, "aa01");
    h.run_accepting(Duration::from_secs(10));
    let t0 = h.now;
    h.engine.handle_message_arrived(inbox, t0).unwrap();
    assert_eq!(h.engine.poll_timeout(), Some(t0 + WINDOW));
    h.advance(WINDOW - ms(1));
    assert!(h.transmits().is_empty());
    h.advance(ms(1));
    assert_eq!(h.transmits().len(), 1);
}

#[test]
fn a_full_batch_goes_out_without_waiting_and_splits_at_the_recipient_limit() {
    let mut config = Harness::default_config();
    config.max_recipients_per_batch = 10;
    let mut h = Harness::new(config);
    let inbox = h.mailbox(1);
    for i in 0..25 {
        h.subscribe(inbox, &format!("dd{i:02}"));
    }
    // 25 waiting, batch of 10: two full batches go at once (one after the other, one in
    // flight at a time); the remaining 5 wait for the window.
    let first = h.transmits();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].recipients, 10);
    h.accept(&first[0]);
    let second = h.transmits();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].recipients, 10);
    h.accept(&second[0]);
    assert!(
        h.transmits().is_empty(),
        "5 left: not a full batch, window not over"
    );
    h.advance(WINDOW);
    let third = h.transmits();
    assert_eq!(third[0].recipients, 5);
    h.accept(&third[0]);
    assert_eq!(h.devices.len(), 25);
}

#[test]
fn distinct_counts_become_notifications_up_to_the_limit() {
    let mut config = Harness::default_config();
    config.max_notifications_per_batch = 3;
    let mut h = Harness::new(config);
    for i in 0..5u32 {
        let inbox = h.mailbox(i);
        h.subscribe(inbox, &format!("dd{i}a"));
        h.subscribe(inbox, &format!("dd{i}b"));
    }
    h.advance(WINDOW);
    let first = h.transmits();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].notifications, 3);
    assert_eq!(first[0].recipients, 6);
    h.accept(&first[0]);
    let rest = h.run_accepting(Duration::from_secs(10));
    assert_eq!(rest.iter().map(|t| t.recipients).sum::<usize>(), 4);
    for i in 0..5u32 {
        assert_eq!(h.devices[&format!("dd{i}a")], i);
        assert_eq!(h.devices[&format!("dd{i}b")], i);
    }
}

#[test]
fn one_batch_in_flight_per_tenant_by_default_and_more_when_configured() {
    for in_flight in [1usize, 3] {
        let mut config = Harness::default_config();
        config.max_recipients_per_batch = 2;
        config.max_in_flight_per_tenant = in_flight;
        let mut h = Harness::new(config);
        let inbox = h.mailbox(1);
        for i in 0..10 {
            h.subscribe(inbox, &format!("dd{i}"));
        }
        let sent = h.transmits();
        assert_eq!(sent.len(), in_flight);
        assert_eq!(h.engine.stats().in_flight_batches, in_flight);
    }
}

#[test]
fn a_subscription_in_flight_is_not_sent_again_until_its_batch_finishes() {
    let mut config = Harness::default_config();
    config.max_in_flight_per_tenant = 2;
    let mut h = Harness::new(config);
    let inbox = h.mailbox(1);
    h.subscribe(inbox, "aa01");
    h.advance(WINDOW);
    let first = h.transmits();
    assert_eq!(first.len(), 1);
    h.engine.handle_message_arrived(inbox, h.now).unwrap();
    h.advance(WINDOW);
    assert!(
        h.transmits().is_empty(),
        "the device is in the first batch still"
    );
    assert_eq!(
        h.engine.poll_timeout(),
        Some(first[0].deadline),
        "only the attempt timeout is waited for"
    );
    h.accept(&first[0]);
    let second = h.transmits();
    assert_eq!(counts_in(&second[0])["aa01"], 2);
}

// ---- failure, backoff, deadline, recovery ----

#[test]
fn an_outage_then_recovery_converges_every_device_with_a_bounded_queue() {
    let mut config = Harness::default_config();
    config.max_recipients_per_batch = 20;
    config.max_pending_per_tenant = 150;
    let mut h = Harness::new(config);
    let mailboxes: Vec<_> = (0..50).map(|_| h.mailbox(0)).collect();
    let mut subscriptions = 0;
    for (m, &inbox) in mailboxes.iter().enumerate() {
        for d in 0..4 {
            h.subscribe(inbox, &format!("d{m:02}x{d}"));
            subscriptions += 1;
        }
    }
    h.run_accepting(Duration::from_secs(60));

    // Ten simulated minutes of outage: every attempt fails one way or another while mail keeps
    // arriving and being read.
    let reasons = [
        PublishOutcome::Failed(FailureReason::Unreachable),
        PublishOutcome::Failed(FailureReason::TimedOut),
        PublishOutcome::RetryLater { retry_after: None },
        PublishOutcome::Failed(FailureReason::Unauthorized),
    ];
    let outage_end = h.now + Duration::from_secs(600);
    let mut step = 0usize;
    let mut max_depth = 0;
    while h.now < outage_end {
        step += 1;
        let inbox = mailboxes[step * 7 % mailboxes.len()];
        if step.is_multiple_of(5) {
            h.engine.handle_message_read(inbox, h.now).unwrap();
        } else {
            h.engine.handle_message_arrived(inbox, h.now).unwrap();
        }
        for transmit in h.transmits() {
            let outcome = reasons[step % reasons.len()].clone();
            h.answer(&transmit, outcome);
        }
        h.advance(ms(700));
        let depth = h.engine.queue_depth();
        max_depth = max_depth.max(depth);
        assert!(
            depth <= subscriptions,
            "queue depth {depth} exceeds the subscriptions"
        );
        let stats = h.engine.stats();
        assert!(stats.overflow_depth + 150 >= depth);
        assert!(stats.in_flight_batches <= 1);
    }
    let stats = h.engine.stats();
    assert!(stats.failed.total() > 10, "the outage was felt: {stats:?}");
    assert!(
        stats.requeued_batches > 0,
        "batches passed their deadline and were requeued"
    );
    assert!(
        max_depth > 150,
        "the cap was reached, so the overflow path was used"
    );
    assert!(stats.overflowed > 0);

    // Recovery: the cloud accepts everything.
    h.run_accepting(Duration::from_secs(600));
    for (m, &inbox) in mailboxes.iter().enumerate() {
        let expected = h.engine.unseen(inbox).unwrap().get();
        for d in 0..4 {
            assert_eq!(
                h.devices[&format!("d{m:02}x{d}")],
                expected,
                "device {m}/{d}"
            );
        }
    }
    assert_eq!(h.engine.queue_depth(), 0);
}

#[test]
fn backoff_grows_with_failures_and_is_capped() {
    let mut config = Harness::default_config();
    config.batch_deadline = Duration::from_secs(3600);
    config.seed = 42;
    let base = config.backoff_base;
    let cap = config.backoff_cap;
    let mut h = Harness::new(config);
    let inbox = h.mailbox(1);
    h.subscribe(inbox, "aa01");
    h.advance(WINDOW);
    let mut delays = Vec::new();
    for failure in 1..=12u32 {
        let transmits = h.transmits();
        assert_eq!(transmits.len(), 1, "failure {failure}");
        assert_eq!(transmits[0].attempt, failure);
        h.answer(
            &transmits[0],
            PublishOutcome::Failed(FailureReason::Unreachable),
        );
        let Some(Event::PublishFailed {
            retry_at, reason, ..
        }) = h.events.last().cloned()
        else {
            panic!("expected PublishFailed, got {:?}", h.events.last())
        };
        assert_eq!(reason, FailureReason::Unreachable);
        let delay = retry_at - h.now;
        assert!(
            delay <= backoff_ceiling(base, cap, failure),
            "failure {failure}: {delay:?}"
        );
        delays.push(delay);
        // Nothing before the retry time, the retry at it.
        if retry_at > h.now {
            h.now = retry_at - ms(1);
            assert!(h.engine.poll_transmit(h.now).is_none());
        }
        h.now = retry_at;
    }
    assert!(delays.iter().all(|d| *d <= cap));
    // Full jitter spreads delays over the whole range; the late ones are mostly long.
    let late: Duration = delays[6..].iter().sum();
    assert!(
        late > Duration::from_secs(60),
        "late delays too short: {delays:?}"
    );
    assert_eq!(h.engine.stats().retried, 11);
}

#[test]
fn jitter_differs_between_seeds_and_repeats_with_the_same_seed() {
    fn delays(seed: u64) -> Vec<Duration> {
        let mut config = Harness::default_config();
        config.seed = seed;
        let mut h = Harness::new(config);
        let inbox = h.mailbox(1);
        h.subscribe(inbox, "aa01");
        h.advance(WINDOW);
        let mut out = Vec::new();
        for _ in 0..6 {
            let t = h.transmits().pop().unwrap();
            h.answer(&t, PublishOutcome::Failed(FailureReason::Unreachable));
            let Some(Event::PublishFailed { retry_at, .. }) = h.events.last().cloned() else {
                panic!()
            };
            out.push(retry_at - h.now);
            h.now = retry_at;
        }
        out
    }
    assert_eq!(delays(1), delays(1));
    assert_ne!(delays(1), delays(2));
}

#[test]
fn retry_after_is_obeyed_exactly_and_cut_to_the_maximum() {
    let mut config = Harness::default_config();
    config.retry_after_max = Duration::from_secs(90);
    config.batch_deadline = Duration::from_secs(3600);
    let mut h = Harness::new(config);
    let inbox = h.mailbox(1);
    h.subscribe(inbox, "aa01");
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    h.answer(
        &t,
        PublishOutcome::RetryLater {
            retry_after: Some(Duration::from_secs(30)),
        },
    );
    assert_eq!(
        h.engine.poll_timeout(),
        Some(h.now + Duration::from_secs(30))
    );
    h.advance(Duration::from_secs(30) - ms(1));
    assert!(h.transmits().is_empty(), "not before Retry-After");
    h.advance(ms(1));
    let t = h.transmits().pop().expect("retried at Retry-After");
    assert_eq!(t.attempt, 2);
    h.answer(
        &t,
        PublishOutcome::RetryLater {
            retry_after: Some(Duration::from_secs(86_400)),
        },
    );
    assert_eq!(
        h.engine.poll_timeout(),
        Some(h.now + Duration::from_secs(90))
    );
    assert_eq!(h.engine.stats().failed.retry_later, 2);
}

#[test]
fn a_batch_past_its_deadline_is_requeued_with_current_counts() {
    let mut config = Harness::default_config();
    config.batch_deadline = Duration::from_secs(20);
    let mut h = Harness::new(config);
    let inbox = h.mailbox(1);
    h.subscribe(inbox, "aa01");
    h.advance(WINDOW);
    let first = h.transmits().pop().unwrap();
    let created = h.now;
    assert_eq!(counts_in(&first)["aa01"], 1);
    h.engine
        .handle_unseen_count(inbox, count(7), h.now)
        .unwrap();
    // Fail until the deadline: every retry of the batch carries the same body.
    loop {
        for t in h.transmits() {
            assert_eq!(t.batch, first.batch, "retried as such before the deadline");
            assert_eq!(t.body, first.body);
            h.answer(&t, PublishOutcome::Failed(FailureReason::Unreachable));
        }
        if h.count_events(|e| matches!(e, Event::BatchRequeued { .. })) > 0 {
            break;
        }
        h.jump_to_next_timeout();
        assert!(
            h.now <= created + Duration::from_secs(20),
            "deadline overrun"
        );
    }
    assert_eq!(h.now, created + Duration::from_secs(20));
    let Some(Event::BatchRequeued {
        requeued, reason, ..
    }) = h
        .events
        .iter()
        .find(|e| matches!(e, Event::BatchRequeued { .. }))
        .cloned()
    else {
        unreachable!()
    };
    assert_eq!((requeued, reason), (1, FailureReason::TimedOut));
    let sent = h.run_accepting(Duration::from_secs(600));
    assert_ne!(sent[0].batch, first.batch, "a new batch");
    assert_eq!(h.devices["aa01"], 7, "with the count as it is now");
}

#[test]
fn an_attempt_without_answer_times_out_and_a_late_answer_is_ignored() {
    let mut config = Harness::default_config();
    config.request_timeout = Duration::from_secs(10);
    let mut h = Harness::new(config);
    let inbox = h.mailbox(1);
    h.subscribe(inbox, "aa01");
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    assert_eq!(t.deadline, h.now + Duration::from_secs(10));
    assert_eq!(h.engine.poll_timeout(), Some(t.deadline));
    h.advance(Duration::from_secs(10));
    assert_eq!(h.engine.stats().failed.timed_out, 1);
    h.engine
        .handle_publish_result(t.id, PublishOutcome::Accepted { dead: Vec::new() }, h.now);
    assert_eq!(h.engine.stats().stale_answers, 1);
    assert_eq!(h.engine.stats().published_batches, 0);
}

#[test]
fn a_rejected_batch_is_not_resent_as_it_is() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(1);
    h.subscribe(inbox, "aa01");
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    h.engine.handle_message_arrived(inbox, h.now).unwrap();
    h.answer(&t, PublishOutcome::Failed(FailureReason::Rejected));
    assert!(h.events.iter().any(|e| matches!(
        e,
        Event::BatchRequeued {
            reason: FailureReason::Rejected,
            requeued: 1,
            ..
        }
    )));
    let sent = h.run_accepting(Duration::from_secs(600));
    assert_ne!(sent[0].batch, t.batch);
    assert_eq!(h.devices["aa01"], 2);
}

// ---- subscriptions ----

#[test]
fn devices_reported_dead_are_removed() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(1);
    let dead = h.subscribe(inbox, "dead01");
    h.subscribe(inbox, "live01");
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    h.answer(
        &t,
        PublishOutcome::Accepted {
            dead: vec![DeadDevice {
                device_id: "dead01".parse().unwrap(),
                reason: DeadReason::Unregistered,
            }],
        },
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        Event::DeviceRemoved { subscription, reason: DeadReason::Unregistered, .. } if *subscription == dead
    )));
    assert!(h.engine.subscription_recipient(dead).is_err());
    assert_eq!(h.engine.stats().dead_removed, 1);
    assert_eq!(h.engine.stats().subscriptions, 1);
    h.engine.handle_message_arrived(inbox, h.now).unwrap();
    let sent = h.run_accepting(Duration::from_secs(10));
    assert_eq!(counts_in(&sent[0]).keys().collect::<Vec<_>>(), ["live01"]);
}

#[test]
fn a_resubscription_updates_the_subscription_in_place() {
    let mut h = Harness::new(Harness::default_config());
    let first = h.mailbox(1);
    let second = h.mailbox(5);
    let handle = h.subscribe(first, "aa01");
    let mut again = recipient("aa01");
    again.installation_id = Some("install-2".parse().unwrap());
    again.last_subscription_update = Some("2024-05-01T09:30:00Z".parse().unwrap());
    let same = h.engine.subscribe(second, &again, h.now).unwrap();
    assert_eq!(same, handle);
    assert_eq!(h.engine.stats().subscriptions, 1);
    assert_eq!(h.engine.stats().refreshed_subscriptions, 1);
    assert_eq!(h.engine.subscription_recipient(handle).unwrap(), again);
    assert_eq!(h.engine.subscription_mailbox(handle).unwrap(), second);
    assert_eq!(h.engine.queue_depth(), 1);
    let sent = h.run_accepting(Duration::from_secs(10));
    assert_eq!(sent.len(), 1);
    assert_eq!(
        counts_in(&sent[0])["aa01"],
        5,
        "the device now shows the second mailbox"
    );
    let body = String::from_utf8(sent[0].body.clone()).unwrap();
    assert!(body.contains(r#""installationId":"install-2""#), "{body}");
    // Changes to the first mailbox no longer reach it.
    h.engine.handle_message_arrived(first, h.now).unwrap();
    assert_eq!(h.engine.queue_depth(), 0);
}

#[test]
fn removing_a_subscription_drops_its_waiting_entry() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(1);
    let gone = h.subscribe(inbox, "aa01");
    h.subscribe(inbox, "aa02");
    assert_eq!(h.engine.queue_depth(), 2);
    h.engine.unsubscribe(gone, h.now).unwrap();
    assert_eq!(h.engine.queue_depth(), 1);
    assert!(
        h.engine.unsubscribe(gone, h.now).is_err(),
        "the handle is dead"
    );
    let removed = h
        .engine
        .unsubscribe_device(h.tenant, &"aa02".parse().unwrap(), h.now)
        .unwrap();
    assert!(removed);
    assert_eq!(h.engine.queue_depth(), 0);
    assert!(h.run_accepting(Duration::from_secs(10)).is_empty());
}

#[test]
fn a_subscription_removed_while_in_flight_is_not_requeued() {
    let mut config = Harness::default_config();
    config.batch_deadline = Duration::from_secs(5);
    let mut h = Harness::new(config);
    let inbox = h.mailbox(1);
    let gone = h.subscribe(inbox, "aa01");
    h.subscribe(inbox, "aa02");
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    assert_eq!(t.recipients, 2);
    h.engine.unsubscribe(gone, h.now).unwrap();
    // A new subscription may reuse the slot; it must not inherit the flight.
    let newcomer = h.subscribe(inbox, "aa03");
    h.answer(&t, PublishOutcome::Failed(FailureReason::Unreachable));
    h.advance(Duration::from_secs(5));
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::BatchRequeued { requeued: 1, .. }))
    );
    h.run_accepting(Duration::from_secs(600));
    assert!(h.engine.is_queued(newcomer).is_ok());
    assert_eq!(h.devices.get("aa03"), Some(&1));
}

#[test]
fn removing_a_mailbox_removes_its_subscriptions() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(1);
    let sub = h.subscribe(inbox, "aa01");
    h.engine.remove_mailbox(inbox, h.now).unwrap();
    assert!(h.engine.subscription_recipient(sub).is_err());
    assert!(h.engine.handle_message_arrived(inbox, h.now).is_err());
    assert_eq!(h.engine.queue_depth(), 0);
    assert_eq!(h.engine.stats().mailboxes, 0);
}

// ---- queue bounds ----

#[test]
fn the_pending_list_is_capped_and_overflow_comes_back_with_current_counts() {
    let mut config = Harness::default_config();
    config.max_pending_per_tenant = 5;
    let mut h = Harness::new(config);
    h.auto_token = false; // keep everything queued
    let inbox = h.mailbox(1);
    for i in 0..12 {
        h.subscribe(inbox, &format!("dd{i:02}"));
    }
    let stats = h.engine.stats();
    assert_eq!(stats.queue_depth, 12);
    assert_eq!(stats.overflow_depth, 7);
    assert_eq!(stats.overflowed, 7);
    assert_eq!(h.count_events(|e| matches!(e, Event::QueueFull { .. })), 1);
    // 100 000 more changes: the queue does not grow.
    for _ in 0..100_000 {
        h.engine.handle_message_arrived(inbox, h.now).unwrap();
    }
    assert_eq!(h.engine.queue_depth(), 12);
    h.engine
        .handle_unseen_count(inbox, count(3), h.now)
        .unwrap();
    h.auto_token = true;
    let need = h
        .events
        .iter()
        .any(|e| matches!(e, Event::NeedToken { .. }));
    assert!(need);
    h.engine
        .handle_token(
            h.tenant,
            "tok".parse().unwrap(),
            h.now + Duration::from_secs(3600),
            h.now,
        )
        .unwrap();
    h.pump_events();
    h.run_accepting(Duration::from_secs(60));
    assert_eq!(h.devices.len(), 12);
    assert!(h.devices.values().all(|&c| c == 3));
}

#[test]
fn the_event_queue_is_bounded_but_keeps_token_requests() {
    let mut config = Harness::default_config();
    config.max_queued_events = 10;
    let mut engine = pushproxy_engine::Engine::new(config).unwrap();
    let now = Timestamp::from_secs(1);
    let tenant = engine
        .add_tenant(
            pushproxy_engine::TenantConfig::new(common::TENANT_ID.parse().unwrap()),
            now,
        )
        .unwrap();
    let inbox = engine.add_mailbox(tenant, count(0)).unwrap();
    engine.subscribe(inbox, &recipient("aa01"), now).unwrap();
    for _ in 0..100 {
        engine.handle_message_arrived(inbox, now).unwrap();
    }
    let mut events = Vec::new();
    while let Some(e) = engine.poll_event() {
        events.push(e);
    }
    assert_eq!(events.len(), 10);
    assert!(matches!(events[0], Event::NeedToken { .. }));
    assert_eq!(engine.stats().events_dropped, 91);
}

// ---- tokens ----

#[test]
fn nothing_is_published_without_a_token() {
    let mut h = Harness::new(Harness::default_config());
    h.auto_token = false;
    // A second engine whose tenant never gets a token.
    let mut config = Harness::default_config();
    config.seed = 3;
    let mut engine = pushproxy_engine::Engine::new(config).unwrap();
    let now = Timestamp::from_secs(1);
    let tenant = engine
        .add_tenant(
            pushproxy_engine::TenantConfig::new(common::TENANT_ID.parse().unwrap()),
            now,
        )
        .unwrap();
    assert_eq!(engine.poll_event(), Some(Event::NeedToken { tenant }));
    let inbox = engine.add_mailbox(tenant, count(1)).unwrap();
    engine.subscribe(inbox, &recipient("aa01"), now).unwrap();
    let mut t = now;
    for _ in 0..100 {
        t = t + Duration::from_secs(1);
        engine.handle_timeout(t);
        assert!(
            engine.poll_transmit(t).is_none(),
            "published without a token"
        );
    }
    // The unanswered request times out after 2 minutes and is asked again after a backoff.
    let events: Vec<Event> = std::iter::from_fn(|| engine.poll_event()).collect();
    assert!(events.is_empty(), "{events:?}");
    for _ in 0..30 {
        t = t + Duration::from_secs(1);
        engine.handle_timeout(t);
    }
    let events: Vec<Event> = std::iter::from_fn(|| engine.poll_event()).collect();
    assert!(matches!(events[0], Event::TokenFailed { .. }), "{events:?}");
    let stats = engine.stats();
    assert_eq!(stats.token_failures, 1);
    // Once a token arrives, the publish goes.
    let token: BearerToken = "tok".parse().unwrap();
    engine
        .handle_token(tenant, token.clone(), t + Duration::from_secs(3600), t)
        .unwrap();
    let transmit = engine.poll_transmit(t).expect("published with the token");
    assert_eq!(transmit.token, token);
}

#[test]
fn the_token_is_refreshed_before_it_expires() {
    let mut h = Harness::new(Harness::default_config());
    assert_eq!(h.tokens_issued(), 1);
    let expires = h.engine.token_expires_at(h.tenant).unwrap().unwrap();
    assert_eq!(expires, h.now + common::TOKEN_LIFETIME);
    // The refresh is asked for 5 minutes before expiry.
    let refresh_at = expires - Duration::from_secs(300);
    assert_eq!(h.engine.poll_timeout(), Some(refresh_at));
    h.advance(refresh_at - h.now - ms(1));
    assert_eq!(h.tokens_issued(), 1);
    h.advance(ms(1));
    assert_eq!(h.tokens_issued(), 2, "refreshed at {refresh_at:?}");
    let renewed = h.engine.token_expires_at(h.tenant).unwrap().unwrap();
    assert!(renewed > expires);
    // Publishing goes on without a gap.
    let inbox = h.mailbox(2);
    h.subscribe(inbox, "aa01");
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    assert_eq!(t.token.expose(), "token-2");
}

#[test]
fn a_token_near_expiry_is_not_used_and_a_short_one_is_refreshed_at_half_life() {
    let mut h = Harness::new(Harness::default_config());
    h.auto_token = false;
    let inbox = h.mailbox(2);
    h.subscribe(inbox, "aa01");
    // A 4-minute token: refresh at half its life, not 5 minutes before expiry (which is now).
    h.engine
        .handle_token(
            h.tenant,
            "short".parse().unwrap(),
            h.now + Duration::from_secs(240),
            h.now,
        )
        .unwrap();
    h.pump_events();
    assert_eq!(
        h.count_events(|e| matches!(e, Event::NeedToken { .. })),
        1,
        "only the first request"
    );
    assert!(h.engine.poll_timeout().unwrap() <= h.now + WINDOW);
    h.advance(Duration::from_secs(120));
    assert_eq!(
        h.count_events(|e| matches!(e, Event::NeedToken { .. })),
        2,
        "asked again at half life"
    );
    // Within the last 30 s the token is no longer put on requests.
    h.advance(Duration::from_secs(95));
    h.engine.handle_message_arrived(inbox, h.now).unwrap();
    h.advance(WINDOW);
    assert!(
        h.transmits().is_empty(),
        "a token about to expire is not used"
    );
}

#[test]
fn a_token_refused_by_the_cloud_is_replaced_before_the_retry() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(2);
    h.subscribe(inbox, "aa01");
    h.auto_token = false;
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    assert_eq!(t.token.expose(), "token-1");
    h.answer(&t, PublishOutcome::Failed(FailureReason::Unauthorized));
    assert!(
        matches!(h.events.last(), Some(Event::NeedToken { .. })),
        "{:?}",
        h.events.last()
    );
    h.advance(Duration::from_secs(60));
    assert!(
        h.transmits().is_empty(),
        "the refused token is not used again"
    );
    h.engine
        .handle_token(
            h.tenant,
            "fresh".parse().unwrap(),
            h.now + Duration::from_secs(3600),
            h.now,
        )
        .unwrap();
    let retry = h.transmits().pop().expect("retried with the new token");
    assert_eq!(retry.token.expose(), "fresh");
    assert_eq!(retry.batch, t.batch);
}

#[test]
fn failed_token_requests_back_off() {
    let mut h = Harness::new(Harness::default_config());
    h.auto_token = false;
    // Throw the token away through a 401, then fail every request.
    let inbox = h.mailbox(2);
    h.subscribe(inbox, "aa01");
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    h.answer(&t, PublishOutcome::Failed(FailureReason::Unauthorized));
    let mut asked = Vec::new();
    for _ in 0..8 {
        assert!(matches!(h.events.last(), Some(Event::NeedToken { .. })));
        asked.push(h.now);
        h.engine.handle_token_failed(h.tenant, h.now).unwrap();
        h.pump_events();
        let Some(Event::TokenFailed { retry_at, .. }) = h.events.last().cloned() else {
            panic!()
        };
        assert!(retry_at >= h.now);
        h.now = retry_at;
        h.engine.handle_timeout(h.now);
        h.pump_events();
    }
    let gaps: Vec<Duration> = asked.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, gap) in gaps.iter().enumerate() {
        assert!(
            *gap <= backoff_ceiling(
                Duration::from_secs(1),
                Duration::from_secs(60),
                i as u32 + 1
            )
        );
    }
    assert_eq!(h.engine.stats().token_failures, 8);
}

#[test]
fn a_token_for_an_unknown_tenant_is_refused() {
    let mut h = Harness::new(Harness::default_config());
    let mut other = pushproxy_engine::Engine::new(EngineConfig::default()).unwrap();
    let stranger = other
        .add_tenant(
            pushproxy_engine::TenantConfig::new(common::TENANT_ID.parse().unwrap()),
            h.now,
        )
        .unwrap();
    let _ = other.add_tenant(
        pushproxy_engine::TenantConfig::new(common::TENANT_ID.parse().unwrap()),
        h.now,
    );
    let second = other
        .add_tenant(
            pushproxy_engine::TenantConfig::new(common::TENANT_ID.parse().unwrap()),
            h.now,
        )
        .unwrap();
    assert!(
        h.engine.tenant_config(stranger).is_ok(),
        "index 0 exists in both"
    );
    assert!(
        h.engine
            .handle_token(
                second,
                "t".parse().unwrap(),
                h.now + Duration::from_secs(60),
                h.now
            )
            .is_err()
    );
}

// ---- time ----

#[test]
fn time_never_goes_backwards_inside_the_engine() {
    let mut h = Harness::new(Harness::default_config());
    let inbox = h.mailbox(1);
    h.subscribe(inbox, "aa01");
    let later = h.now + WINDOW;
    h.engine.handle_timeout(later);
    // A caller whose clock stepped back still gets the batch that was due.
    let t = h
        .engine
        .poll_transmit(h.now)
        .expect("due at the latest time seen");
    assert!(t.deadline > later);
}

#[test]
fn memory_per_subscription_is_small() {
    let mut h = Harness::new(Harness::default_config());
    let base = h.engine.approx_memory_bytes();
    let n = 20_000u32;
    for i in 0..n {
        let inbox = h.mailbox(i % 50);
        // A 64-hex-digit APNs token and a GUID installation id, as real devices have.
        let mut r = recipient(&format!("{i:064x}"));
        r.installation_id = Some(format!("8a7b6c5d-0000-4000-8000-{i:012x}").parse().unwrap());
        r.last_subscription_update = Some("2024-05-01T09:30:00Z".parse().unwrap());
        h.engine.subscribe(inbox, &r, h.now).unwrap();
    }
    let per = (h.engine.approx_memory_bytes() - base) / n as usize;
    eprintln!("{per} bytes per subscription");
    // Includes one mailbox per subscription here.
    assert!(per <= 256, "{per} bytes per subscription");
    assert!(
        per >= 64 + 36,
        "the estimate must at least count the ids ({per})"
    );
}

#[test]
fn tenant_status_follows_failures_and_recovery() {
    let mut config = Harness::default_config();
    config.batch_deadline = Duration::from_secs(3600);
    let mut h = Harness::new(config);
    let inbox = h.mailbox(1);
    let unwatched = h.mailbox(0);
    h.subscribe(inbox, "aa01");
    let status = h.engine.tenant_status(h.tenant).unwrap();
    assert_eq!(
        (status.mailboxes, status.subscriptions, status.queue_depth),
        (2, 1, 1)
    );
    assert!(status.token_usable && !status.token_requested);
    h.advance(WINDOW);
    let t = h.transmits().pop().unwrap();
    h.answer(
        &t,
        PublishOutcome::RetryLater {
            retry_after: Some(Duration::from_secs(5)),
        },
    );
    let status = h.engine.tenant_status(h.tenant).unwrap();
    assert_eq!(status.consecutive_failures, 1);
    assert_eq!(
        status.sending_paused_until,
        Some(h.now + Duration::from_secs(5))
    );
    assert_eq!(status.in_flight_batches, 1);
    h.run_accepting(Duration::from_secs(60));
    let status = h.engine.tenant_status(h.tenant).unwrap();
    assert_eq!(status.consecutive_failures, 0);
    assert_eq!(status.sending_paused_until, None);
    assert_eq!(status.in_flight_batches, 0);
    // A mailbox nobody watches changes without events or queue entries.
    let before = h.events.len();
    h.engine.handle_message_arrived(unwatched, h.now).unwrap();
    h.pump_events();
    assert_eq!(h.events.len(), before);
    assert_eq!(h.engine.unseen(unwatched).unwrap(), count(1));
}

#[test]
fn regression_old_batch_of_a_resubscribed_device_cannot_overtake_its_new_count() {
    // Found by the model test: a device unsubscribed while in a batch and subscribed again (to
    // another mailbox) went out in a second batch at once; the first batch, retried later,
    // then left the device with the old mailbox's count.
    let mut config = Harness::default_config();
    config.max_in_flight_per_tenant = 2;
    config.coalesce_window = ms(1);
    let mut h = Harness::new(config);
    let old = h.mailbox(1);
    let new = h.mailbox(0);
    let first = h.subscribe(old, "dev05");
    h.advance(ms(1));
    let lost = h.transmits().pop().unwrap();
    h.engine.unsubscribe(first, h.now).unwrap();
    h.subscribe(new, "dev05");
    h.advance(ms(1));
    assert!(
        h.transmits().is_empty(),
        "the new subscription waits for the old batch"
    );
    // The lost request times out and is retried, still carrying the old count; only after it
    // does the new subscription go out.
    let sent = h.run_accepting(Duration::from_secs(60));
    assert_eq!(sent[0].batch, lost.batch);
    assert_eq!(counts_in(&sent[0])["dev05"], 1);
    assert_eq!(counts_in(sent.last().unwrap())["dev05"], 0);
    assert_eq!(h.devices["dev05"], 0);
}

#[test]
fn one_failing_tenant_does_not_hold_up_another() {
    use pushproxy_engine::{Engine, TenantConfig};
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let mut now = Timestamp::from_secs(1);
    let a = engine
        .add_tenant(TenantConfig::new(common::TENANT_ID.parse().unwrap()), now)
        .unwrap();
    let b = engine
        .add_tenant(
            TenantConfig::new("11111111-2222-3333-4444-555555555555".parse().unwrap()),
            now,
        )
        .unwrap();
    for tenant in [a, b] {
        engine
            .handle_token(
                tenant,
                "tok".parse().unwrap(),
                now + Duration::from_secs(3600),
                now,
            )
            .unwrap();
    }
    let inbox_a = engine.add_mailbox(a, count(0)).unwrap();
    let inbox_b = engine.add_mailbox(b, count(0)).unwrap();
    // The same device id in both tenants: two separate subscriptions.
    let sub_a = engine.subscribe(inbox_a, &recipient("aa01"), now).unwrap();
    let sub_b = engine.subscribe(inbox_b, &recipient("aa01"), now).unwrap();
    assert_ne!(sub_a, sub_b);
    let mut published_b = 0;
    for step in 0..200u64 {
        engine.handle_message_arrived(inbox_a, now).unwrap();
        engine.handle_message_arrived(inbox_b, now).unwrap();
        while let Some(t) = engine.poll_transmit(now) {
            let outcome = if t.tenant == a {
                PublishOutcome::Failed(FailureReason::Unreachable)
            } else {
                published_b += 1;
                PublishOutcome::Accepted { dead: Vec::new() }
            };
            engine.handle_publish_result(t.id, outcome, now);
        }
        now = now + Duration::from_secs(3);
        engine.handle_timeout(now);
        assert!(engine.tenant_queue_depth(a).unwrap() <= 1, "step {step}");
    }
    // A change every 3 s, each due 2 s after it came: one batch every other step, exactly as
    // if tenant a were healthy.
    assert_eq!(published_b, 100);
    let status_a = engine.tenant_status(a).unwrap();
    assert!(status_a.consecutive_failures > 10);
    assert_eq!(engine.tenant_status(b).unwrap().consecutive_failures, 0);
}
